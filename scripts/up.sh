#!/usr/bin/env bash
# The main job: stands up the default cluster (examples/flask-nginx-postgres, run by the root Pulumi.yaml) with
# `pulumi up` on a local file backend: no Pulumi Cloud account needed. Usage: bash scripts/up.sh [stack]
# (default stack "dev"). Needs the Pulumi CLI and a Docker engine; says how to get them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${1:-dev}

if ! command -v pulumi >/dev/null 2>&1; then
  cat >&2 <<'MSG'
scripts/up.sh: the Pulumi CLI is not installed, so the cluster cannot be deployed from this machine.
Install it (https://www.pulumi.com/docs/iac/download-install/), e.g.
    curl -fsSL https://get.pulumi.com | sh        # then add ~/.pulumi/bin to PATH
and run this script again. Without the CLI you can still run the test suite: bash scripts/test.sh
MSG
  exit 2
fi
if ! docker info >/dev/null 2>&1; then
  echo "scripts/up.sh: no Docker engine answers (docker info failed). Start Docker, or point DOCKER_HOST at one, and run again." >&2
  exit 2
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# A local file backend inside the checkout; state and secrets stay on this machine. Chosen for these commands
# only (PULUMI_BACKEND_URL), not with `pulumi login`, which would switch the user's backend for every project.
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
# The file backend encrypts secrets with a passphrase; an empty one is allowed for a local try-out.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
pulumi stack select --create "$STACK" >/dev/null
pulumi up --yes --stack "$STACK"
pulumi stack output --stack "$STACK"
echo "For other pulumi commands on this stack (destroy, config, refresh): export PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL" >&2
