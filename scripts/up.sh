#!/usr/bin/env bash
# Usage: npm run up -- <stack> [pulumi up flags]
# Runs `pulumi up` on one stack. Without PULUMI_BACKEND_URL the state goes to a local file backend in
# .pulumi-state/ (no Pulumi account needed); set PULUMI_BACKEND_URL (or `pulumi login`) to use another backend.
# Before anything is called it stops, saying what to do, when the stack file still holds the example's placeholder
# ids or when the Pulumi CLI is missing.
set -euo pipefail
stack="${1:?usage: npm run up -- <stack> [pulumi up flags], e.g. npm run up -- dev}"
shift
cd "$(dirname "$0")/.."

# The example stack files use ids of one repeated digit (11111111-1111-1111-1111-111111111111): never real ones.
file="Pulumi.$stack.yaml"
if [ -f "$file" ]; then
    keys="$(grep -nE '([0-9a-f])\1{7}-\1{4}-\1{4}-\1{4}-\1{12}' "$file" | grep -vE '^[0-9]+:[[:space:]]*#' | cut -d: -f1 | while read -r line; do
        # The key of that line, or of the list it belongs to.
        head -n "$line" "$file" | grep -E '^[[:space:]]*[A-Za-z0-9-]+:[A-Za-z0-9]+:' | tail -n 1 | sed -E 's/^[[:space:]]*[A-Za-z0-9-]+:([A-Za-z0-9]+):.*/\1/'
    done | awk '!seen[$0]++')"
    if [ -n "$keys" ]; then
        {
            echo "$file still holds the example's placeholder ids. Fill in these keys with your own values, then run again:"
            echo "$keys" | sed 's/^/  - /'
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
echo "backend: $PULUMI_BACKEND_URL" >&2
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
