#!/usr/bin/env bash
# Usage: npm run up -- <stack> [pulumi up flags]
# Runs `pulumi stack select --create <stack>`, then `pulumi up --stack <stack> <flags>`, and exits with pulumi's code.
# Without PULUMI_BACKEND_URL the state goes to a local file backend in .pulumi-state/ (no Pulumi account needed),
# whatever `pulumi login` chose before; set PULUMI_BACKEND_URL to use another backend. It prints the backend as an
# `export` line: other pulumi commands on the stack (config set, stack output, destroy) need the same backend.
# Before anything is called it stops, saying what to do, when the stack file still holds the example's placeholder
# ids or when the Pulumi CLI is missing.
#
# Under `set -e` no check below may end in a failing command: a grep that finds nothing would end the script with
# status 1 and no message. So the checks are plain bash, with no pipelines.
set -euo pipefail

usage="usage: npm run up -- <stack> [pulumi up flags], e.g. npm run up -- dev"
if [ $# -eq 0 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
    echo "$usage" >&2
    exit 2
fi
stack="$1"
shift
cd "$(dirname "$0")/.."

# The example stack files use ids of one repeated digit (11111111-1111-1111-1111-111111111111): never real ones.
# Prints, once each, the config keys whose values (outside comments) hold one; a list item belongs to the key above it.
placeholderKeys() {
    local line value key="" found=$'\n' digit id
    while IFS= read -r line || [ -n "$line" ]; do
        [[ $line =~ ^[[:space:]]*# ]] && continue
        if [[ $line =~ ^[[:space:]]*[A-Za-z0-9-]+:([A-Za-z0-9]+): ]]; then
            key="${BASH_REMATCH[1]}"
        fi
        value="${line%%[[:space:]]#*}"
        for digit in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
            id="$digit$digit$digit$digit$digit$digit$digit$digit-$digit$digit$digit$digit-$digit$digit$digit$digit"
            id="$id-$digit$digit$digit$digit-$digit$digit$digit$digit$digit$digit$digit$digit$digit$digit$digit$digit"
            if [[ $value == *"$id"* && -n $key && $found != *$'\n'"$key"$'\n'* ]]; then
                found+="$key"$'\n'
                printf '%s\n' "$key"
            fi
        done
    done <"$1"
}

# Pulumi keeps the configuration of stack <org>/<name> in Pulumi.<name>.yaml.
file="Pulumi.${stack##*/}.yaml"
if [ -f "$file" ]; then
    keys="$(placeholderKeys "$file")"
    if [ -n "$keys" ]; then
        {
            echo "$file still holds the example's placeholder ids. Fill in these keys with your own values, then run again:"
            while IFS= read -r key; do
                echo "  - $key"
            done <<<"$keys"
            echo "Nothing was called."
        } >&2
        exit 2
    fi
fi

if ! command -v pulumi >/dev/null 2>&1; then
    {
        echo "npm run up needs the Pulumi CLI (3.x), and there is no 'pulumi' on the PATH."
        echo "Install it with: curl -fsSL https://get.pulumi.com | sh   (or see https://www.pulumi.com/docs/install/),"
        echo "open a new shell (or add ~/.pulumi/bin to PATH), and run again. Nothing was called."
    } >&2
    exit 127
fi

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p .pulumi-state
    export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
printf -v exportLine 'export PULUMI_BACKEND_URL=%q' "$PULUMI_BACKEND_URL"
echo "backend: $PULUMI_BACKEND_URL ($exportLine to run other pulumi commands on this stack)" >&2
if [ ! -f "$file" ]; then
    echo "$file does not exist yet: the stack starts with no configuration, and the program names each key it needs." >&2
fi
pulumi stack select --create "$stack"
exec pulumi up --stack "$stack" "$@"
