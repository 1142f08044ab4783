#!/usr/bin/env bash
# Usage: npm run up -- <stack> [pulumi up flags]
# Runs `pulumi up` on one stack. Without PULUMI_BACKEND_URL the state goes to a local file backend in
# .pulumi-state/ (no Pulumi account needed); set PULUMI_BACKEND_URL (or `pulumi login`) to use another backend.
set -euo pipefail
stack="${1:?usage: npm run up -- <stack> [pulumi up flags], e.g. npm run up -- dev}"
shift
cd "$(dirname "$0")/.."
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p .pulumi-state
    export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
echo "backend: $PULUMI_BACKEND_URL" >&2
pulumi stack select --create "$stack"
pulumi up --stack "$stack" "$@"
