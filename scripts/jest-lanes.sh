#!/usr/bin/env bash
# `npm test`: the whole jest suite in two lanes side by side, each one jest process running its files one at a
# time: the real-engine suites (tests/engine/: mostly waiting on Docker, health checks and drains) and all the
# others (mostly CPU: mocks, Postgres, nginx). On two cores one lane's waits overlap the other's work.
# Each line is prefixed with its lane; the exit code is non-zero when either lane fails.
# With arguments (`npm test -- tests/sdk/app.test.ts`), one jest process runs them as given.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then exec npx jest --runInBand "$@"; fi
lane() {
  local name="$1"; shift
  npx jest --runInBand "$@" 2>&1 | sed -u "s/^/[$name] /"
  return "${PIPESTATUS[0]}"
}
start=$(date +%s)
# The swarm suite (its own engine, mostly waiting too) runs in the other lane, which is otherwise the shorter one.
lane engine tests/engine/ --testPathIgnorePatterns /tests/engine/swarm & engine=$!
lane others --testPathIgnorePatterns '/tests/engine/(?!swarm)' & others=$!
wait "$engine"; rc_engine=$?
echo "[engine] lane finished: exit $rc_engine"
wait "$others"; rc_others=$?
echo "[others] lane finished: exit $rc_others"
echo "jest lanes: engine exit $rc_engine, others exit $rc_others, $(( $(date +%s) - start ))s"
[ "$rc_engine" -eq 0 ] && [ "$rc_others" -eq 0 ]
