#!/usr/bin/env bash
# `npm test`: the whole jest suite in three lanes side by side, each one jest process running its files one at a
# time: the longest real-engine suites on the shared Docker engine (zero-downtime, three-tier, bootstrap), the other
# real-engine suites (those that bring their own Docker engines, swarm, multi-host swarm and faults, each in network
# namespaces of its own, and the short ones on the shared engine), and all the others (mostly CPU: mocks, Postgres,
# nginx). The engine suites mostly wait on Docker, health checks and drains, so on two cores they overlap the CPU
# lane's work; the split keeps the two engine lanes about as long as each other (tests/README.md).
# Each line is prefixed with its lane; the exit code is non-zero when any lane fails.
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
LONG='/tests/engine/(zero-downtime|three-tier|bootstrap)\.test'
lane engine "$LONG" & engine=$!
lane engines tests/engine/ --testPathIgnorePatterns "$LONG" & engines=$!
lane others --testPathIgnorePatterns '/tests/engine/' & others=$!
rc=0; summary=""
for l in engine:$engine engines:$engines others:$others; do
  wait "${l#*:}"; r=$?
  echo "[${l%%:*}] lane finished: exit $r"
  summary+="${l%%:*} exit $r, "
  [ "$r" -eq 0 ] || rc=1
done
echo "jest lanes: ${summary}$(( $(date +%s) - start ))s"
exit "$rc"
