# Shared by tests/infra/swarm.sh and tests/infra/swarm-cluster.sh (sourced, not run): a dockerd of our own in a
# network namespace of its own. The caller sets, before each call, for the engine it is about:
#   ND_NAME   a label for the log lines        ND_URL      unix://<socket>     ND_PIDFILE  dockerd's pidfile
#   ND_LOG    dockerd's log (appended)         ND_NETNS    the namespace       ND_TIMEOUT  bounded waits, s
# Why `nsenter --net=` and not `ip netns exec`: the latter mounts a fresh /sys, and dockerd then fails with
# "Devices cgroup isn't mounted".

nd_log() { echo "${ND_NAME}: $*" >&2; }
# The docker CLI on this engine, always bounded.
nd_docker() { DOCKER_HOST="$ND_URL" timeout "${ND_CMD_TIMEOUT:-60}" docker "$@"; }
# A command inside a namespace (ip, sysctl, ...).
nd_in() { local ns="$1"; shift; nsenter --net="/var/run/netns/$ns" "$@"; }

nd_pid_alive() {
  local pid
  [ -s "$ND_PIDFILE" ] || return 1
  pid="$(cat "$ND_PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qa dockerd "/proc/$pid/cmdline" 2>/dev/null
}

nd_answers() { ND_CMD_TIMEOUT=10 nd_docker info >/dev/null 2>&1; }

nd_ensure_netns() {
  ip netns list | grep -qw "^$1" || ip netns add "$1"
  nd_in "$1" ip link set lo up
}

# Waits (bounded) until the engine started as pid $1 answers.
nd_wait_ready() {
  local pid="$1" deadline=$((SECONDS + ND_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    nd_answers && return 0
    if ! kill -0 "$pid" 2>/dev/null && ! nd_pid_alive; then
      nd_log "dockerd exited during start-up; last log lines:"; tail -n 30 "$ND_LOG" >&2 || true; return 1
    fi
    sleep 0.5
  done
  nd_log "dockerd did not answer within ${ND_TIMEOUT}s"; tail -n 30 "$ND_LOG" >&2 || true; return 1
}

# Starts dockerd in ND_NETNS with the arguments given (socket, roots, pidfile, addresses: the caller's), unless it
# runs and answers already. With ND_HOSTNAME set it gets a UTS namespace of its own with that host name: swarm names
# a node by its engine's host name, and placement constraints (`node.hostname == …`) need them distinct.
nd_start_dockerd() {
  if nd_pid_alive && nd_answers; then
    nd_log "dockerd already running (pid $(cat "$ND_PIDFILE")), $ND_URL"; return 0
  fi
  if nd_pid_alive; then
    nd_log "dockerd pid $(cat "$ND_PIDFILE") is running but not answering yet; waiting"
    nd_wait_ready "$(cat "$ND_PIDFILE")"; return
  fi
  rm -f "$ND_PIDFILE" "${ND_URL#unix://}"
  nd_log "starting in netns $ND_NETNS: dockerd $* (log: $ND_LOG)"
  echo "==== $(date -u +%FT%TZ) dockerd $*" >>"$ND_LOG"
  if [ -n "${ND_HOSTNAME:-}" ]; then
    setsid nsenter --net="/var/run/netns/$ND_NETNS" unshare --uts \
      sh -c 'hostname "$0" && exec dockerd "$@"' "$ND_HOSTNAME" "$@" >>"$ND_LOG" 2>&1 </dev/null 9>&- &
  else
    setsid nsenter --net="/var/run/netns/$ND_NETNS" dockerd "$@" >>"$ND_LOG" 2>&1 </dev/null 9>&- &
  fi
  nd_wait_ready "$!"
}

# Copies images from the engine at $1 (each once, by ID, tags included), skipping those already there.
nd_load_images() {
  local from="$1"; shift
  local want=() ref id
  for ref in "$@"; do
    id="$(DOCKER_HOST="$from" docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null)" || {
      nd_log "image $ref is not on the shared engine (run tests/infra/build-images.sh)"; return 1; }
    [ "$(ND_CMD_TIMEOUT=10 nd_docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)" = "$id" ] || want+=("$ref")
  done
  [ "${#want[@]}" -eq 0 ] && { nd_log "images up to date"; return 0; }
  nd_log "loading ${want[*]} from the shared engine"
  DOCKER_HOST="$from" timeout 300 docker save "${want[@]}" | ND_CMD_TIMEOUT=300 nd_docker load -q >&2
}

# Leaves the swarm, stops dockerd (SIGTERM, bounded, then SIGKILL) and the containerd it started (exec root $1).
nd_stop_dockerd() {
  local exec_root="$1"
  if ! nd_pid_alive; then nd_log "dockerd not running"; rm -f "$ND_PIDFILE"; return 0; fi
  ND_CMD_TIMEOUT=30 nd_docker swarm leave --force >/dev/null 2>&1 || true
  local pid; pid="$(cat "$ND_PIDFILE")"
  nd_log "stopping dockerd pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${ND_STOP_TIMEOUT:-30}))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { nd_log "SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 1; }
  local cpidf="$exec_root/containerd/containerd.pid" cpid
  if [ -s "$cpidf" ]; then
    cpid="$(cat "$cpidf")"
    if kill -0 "$cpid" 2>/dev/null && grep -qa containerd "/proc/$cpid/cmdline"; then kill -TERM "$cpid" || true; fi
  fi
  rm -f "$ND_PIDFILE"
}
