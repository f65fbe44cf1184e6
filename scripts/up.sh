#!/usr/bin/env bash
# The main job: stands up the default cluster (examples/flask-nginx-postgres, run by the root Pulumi.yaml) with a
# real `pulumi up` on a local file backend: no Pulumi Cloud account needed. Usage: bash scripts/up.sh [stack]
# (default stack "dev"). `bash scripts/down.sh [stack]` destroys it again (the data volume is retained).
#
# What it gets by itself:
# - the Pulumi CLI: one on PATH, or the pinned one built from Go modules (scripts/pulumi.sh; needs Go);
# - a Docker engine: DOCKER_HOST, else the default socket, else this project's private engine
#   (tests/infra/dockerd.sh, which needs the docker.io package);
# - the images: present, or pulled, or else built from this repository's recipes (tests/infra/build-images.sh).
# The docker and random provider plugins must be installed (`pulumi plugin install`, or automatic acquisition
# on a machine that reaches Pulumi's plugin downloads); it stops with exit code 2 and says so when they are not.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${1:-dev}
say() { echo "scripts/up.sh: $*" >&2; }
# The passphrase encrypts the stack's secrets (database passwords) in .pulumi-state: empty is a local try-out's
# choice, never a shared or production stack's. Refused before anything runs.
if [ "$STACK" != dev ] && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  say "stack \"$STACK\" would keep its secrets under an empty passphrase: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) first; only the dev stack may go without one"
  exit 2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
eval "$(bash scripts/pulumi.sh env)"
# State and secrets stay in the checkout; chosen for these commands only (not `pulumi login`, which would switch
# the user's backend for every project). The file backend encrypts secrets with a passphrase (empty: dev only).
mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"

# Docker engine.
if [ -z "${DOCKER_HOST:-}" ] && ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v curl >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
      say "no Docker engine answers and dockerd is not installed: install Docker (Debian: apt-get install docker.io) or set DOCKER_HOST"
      exit 2
    fi
    say "installing docker.io, debootstrap and curl from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io debootstrap curl >/dev/null
    # Debian starts its own engine; the private one below is used instead (one engine per bridge and iptables).
    { service docker stop; service containerd stop; } >/dev/null 2>&1 || true
  fi
  say "no Docker engine on the default socket: starting this project's private engine (tests/infra/dockerd.sh)"
  tests/infra/dockerd.sh start
  eval "$(tests/infra/dockerd.sh env)"
  export DOCKER_HOST
fi
docker info >/dev/null 2>&1 || { say "the Docker engine at ${DOCKER_HOST:-the default socket} does not answer (docker info failed)"; exit 2; }

# Images the stack's defaults name: present, pulled, or built locally under the same names.
missing=()
for image in postgres:15-bookworm nginx:stable-bookworm debian:bookworm-slim; do
  docker image inspect "$image" >/dev/null 2>&1 || timeout 120 docker pull -q "$image" >/dev/null 2>&1 || missing+=("$image")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "no registry served ${missing[*]}: building them from this repository's recipes (tests/infra/build-images.sh)"
  tests/infra/build-images.sh
fi

# Provider plugins: the program needs docker and random (the dynamic providers come with @pulumi/pulumi).
for plugin in docker random; do
  if ! command -v "pulumi-resource-$plugin" >/dev/null && ! "$PDC_PULUMI" plugin ls 2>/dev/null | awk '$2 == "resource"' | grep -q "^$plugin "; then
    if [ "${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-}" = "true" ]; then
      say "the Pulumi resource plugin \"$plugin\" is not installed and automatic plugin download is off."
      say "Install it with: pulumi plugin install resource $plugin <version> [--file <binary>], or let this project build"
      say "it with the rest of its toolchain: remove PDC_PULUMI and any older pulumi from PATH, run bash scripts/pulumi.sh build (tools/README.md)."
      exit 2
    fi
  fi
done

$PDC_PULUMI stack select --create "$STACK" >/dev/null
if command -v pulumi-language-nodejs >/dev/null; then
  "$PDC_PULUMI" up --yes --stack "$STACK"
else
  # No Node language plugin beside this CLI: the program is served inline through the Automation API.
  npx ts-node --transpile-only scripts/stack.ts up "$STACK"
fi
url=$("$PDC_PULUMI" stack output url --stack "$STACK")
curl -fsS -o /dev/null --max-time 10 "$url" || { say "pulumi up finished, but $url did not answer 2xx"; exit 1; }
say "the cluster answers at $url"
say "tear it down with: bash scripts/down.sh $STACK"
say "for other pulumi commands on this stack: export PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL; eval \"\$(bash scripts/pulumi.sh env)\""
