#!/usr/bin/env bash
# The test command: sets everything up (scripts/setup.sh), checks types, lint and format (`npm run lint`), runs the
# whole jest suite, and stops the services it started, also when setup fails or the run is interrupted. Services
# that were already running stay running.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_before=false; docker_before=false; swarm_before=false; mh_before=false
tests/infra/postgres.sh status >/dev/null 2>&1 && pg_before=true
tests/infra/dockerd.sh status >/dev/null 2>&1 && docker_before=true
tests/infra/swarm.sh status >/dev/null 2>&1 && swarm_before=true
tests/infra/swarm-cluster.sh status >/dev/null 2>&1 && mh_before=true
child=""
cleaned=false
cleanup() {
  $cleaned && return; cleaned=true
  # The step in progress, with everything it started (its own process group: see run).
  [ -n "$child" ] && { kill -TERM -- "-$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; }
  $mh_before || tests/infra/swarm-cluster.sh stop || true
  $swarm_before || tests/infra/swarm.sh stop || true
  $pg_before || tests/infra/postgres.sh stop || true
  $docker_before || tests/infra/dockerd.sh stop || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
# Each step runs as a background job in its own process group and is waited for: bash runs a trap only once a
# foreground command has finished, so a signal would otherwise wait for the whole test run.
run() {
  local rc=0
  set -m; "$@" & child=$!; set +m
  wait "$child" || rc=$?
  child=""
  return "$rc"
}
run bash scripts/setup.sh
eval "$(tests/infra/postgres.sh env)"
eval "$(tests/infra/dockerd.sh env)"
eval "$(tests/infra/swarm.sh env)"
eval "$(tests/infra/swarm-cluster.sh env)"
export PDC_PG_HOST PDC_PG_PORT PDC_PG_USER PDC_PG_PASSWORD PDC_PG_DIR PDC_PG_BIN DOCKER_HOST
run npm run lint
run npm test
