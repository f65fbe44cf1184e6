#!/usr/bin/env bash
# The test command: sets everything up (scripts/setup.sh), runs the whole jest suite, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trap 'bash scripts/teardown.sh' EXIT
eval "$(tests/infra/postgres.sh env)"
eval "$(tests/infra/dockerd.sh env)"
export PDC_PG_HOST PDC_PG_PORT PDC_PG_USER PDC_PG_PASSWORD PDC_PG_DIR PDC_PG_BIN DOCKER_HOST
npm test
