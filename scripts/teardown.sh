#!/usr/bin/env bash
# Stops what scripts/setup.sh started (images stay cached in the Docker data root).
cd "$(dirname "$0")/.."
tests/infra/swarm-cluster.sh stop || true
tests/infra/swarm.sh stop || true
tests/infra/postgres.sh stop || true
tests/infra/dockerd.sh stop || true
