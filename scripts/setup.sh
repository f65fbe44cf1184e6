#!/usr/bin/env bash
# Installs and starts everything the test suite needs, on a fresh Debian bookworm machine:
#   Debian packages (Postgres, nginx, Docker engine, debootstrap, docker-compose), npm dependencies,
#   the Pulumi CLI (scripts/pulumi.sh), the real Flyway (tests/infra/flyway.sh), a throwaway Postgres cluster on
#   127.0.0.1:55432, a private Docker engine, the local images, and a single-node swarm engine in a network
#   namespace of its own (tests/infra/swarm.sh), and a swarm of 3 engines in namespaces of their own
#   (tests/infra/swarm-cluster.sh).
# Idempotent: what is installed or running already is left alone. Prints timings.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { echo "==> [$(( $(date +%s) - t0 ))s] $*"; }

need=()
command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql postgresql-client)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v curl >/dev/null || need+=(curl)
# The health-check probe is tested with each interpreter an app image may carry instead of curl.
command -v python3 >/dev/null || need+=(python3)
command -v ruby >/dev/null || need+=(ruby)
if [ ${#need[@]} -gt 0 ]; then
  step "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/pdc-apt.log 2>&1 || { tail -50 /tmp/pdc-apt.log; exit 1; }
  # Debian starts the services of what it just installed; the tests start their own instead (a second Docker
  # engine would share docker0 and the iptables chains with the private one). Services of packages that were
  # installed before are the user's and are left alone.
  for pkg in "${need[@]}"; do
    case "$pkg" in
      nginx-light) service nginx stop ;;
      postgresql) service postgresql stop ;;
      docker.io) service docker stop; service containerd stop ;;
    esac >/dev/null 2>&1 || true
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The real engine: a Pulumi CLI on PATH, or the pinned one built from Go modules (cached outside the clone).
step "pulumi CLI (scripts/pulumi.sh)"
bash scripts/pulumi.sh path

# The real Flyway, the provider tests' reference (Maven Central; cached outside the clone).
step "flyway (tests/infra/flyway.sh)"
tests/infra/flyway.sh fetch

step "postgres (tests/infra/postgres.sh)"
tests/infra/postgres.sh start
step "docker engine (tests/infra/dockerd.sh)"
tests/infra/dockerd.sh start
step "images (tests/infra/build-images.sh)"
tests/infra/build-images.sh
# After the images: it copies those the swarm tests run from the shared engine. Cold about 30 s, warm about 1 s.
step "swarm engine (tests/infra/swarm.sh)"
tests/infra/swarm.sh start
# A swarm of 3 engines for the multi-host test: cold about 22 s (the images copied to 3 data roots), warm about 1 s.
step "3-node swarm (tests/infra/swarm-cluster.sh)"
tests/infra/swarm-cluster.sh start
step "ready"
