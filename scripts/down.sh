#!/usr/bin/env bash
# Tears down what scripts/up.sh stood up: `pulumi destroy` of the stack (default "dev") on the checkout's file
# backend. The Postgres data volume is retained (the next `up` finds the data); the database bootstrap's
# onDelete "retain" leaves the data inside it too. Usage: bash scripts/down.sh [stack]
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${1:-dev}
eval "$(bash scripts/pulumi.sh env)"
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
if [ -z "${DOCKER_HOST:-}" ] && ! docker info >/dev/null 2>&1 && tests/infra/dockerd.sh status >/dev/null 2>&1; then
  eval "$(tests/infra/dockerd.sh env)"
  export DOCKER_HOST
fi
if command -v pulumi-language-nodejs >/dev/null; then
  "$PDC_PULUMI" destroy --yes --stack "$STACK"
else
  npx ts-node --transpile-only scripts/stack.ts destroy "$STACK"
fi
