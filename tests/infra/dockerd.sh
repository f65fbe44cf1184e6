#!/usr/bin/env bash
# Private Docker engine for the test suite.
#
#   tests/infra/dockerd.sh start   # start (no-op if already running), wait until `docker info` answers
#   tests/infra/dockerd.sh stop    # stop (SIGTERM, bounded wait, then SIGKILL)
#   tests/infra/dockerd.sh status  # exit 0 if running and answering
#   tests/infra/dockerd.sh env     # prints: export DOCKER_HOST=unix:///tmp/pdc-docker.sock
#   eval "$(tests/infra/dockerd.sh env)"
#
# Layout (overridable through the environment):
#   socket     unix:///tmp/pdc-docker.sock          (PDC_DOCKER_SOCK=/tmp/pdc-docker.sock)
#   data root  /var/tmp/pdc-docker                  (PDC_DOCKER_DATA; survives runs -> images stay cached)
#   exec root  /tmp/pdc-docker-run/exec             (PDC_DOCKER_RUN=/tmp/pdc-docker-run)
#   pidfile    /tmp/pdc-docker-run/dockerd.pid
#   log        /tmp/pdc-dockerd.log                 (PDC_DOCKER_LOG)
#   more flags (none)                               (PDC_DOCKER_ARGS, split on spaces, e.g. "--live-restore")
#
# Flags, as found to work in the sandbox this was written in (Debian bookworm, docker.io
# 20.10.24 from apt, root with full capabilities, kernel 6.x, cgroup v1, ext4 root fs):
#   * storage driver: overlay2 works (ext4 with d_type).  dockerd picks it by itself; we only
#     fall back to `--storage-driver vfs` when the kernel lacks overlayfs (PDC_DOCKER_STORAGE
#     forces a driver).  NB: a data root created with one driver is not readable by another.
#   * iptables: works (iptables 1.8 nf_tables backend), so bridge networking, NAT to the
#     outside (apt-get inside `docker build`), `--internal` networks and `-p` publishing
#     work with the defaults.  If `iptables -t nat -L` fails we start with
#     `--iptables=false --ip-masq=false` (containers then cannot reach the outside; builds
#     must then use `--network host`; build-images.sh always uses host networking anyway).
#   * MTU: the sandbox's uplink has MTU 1400; docker's bridges default to 1500.  We pass
#     `--mtu <uplink mtu>` (default bridge, which `docker build` uses) so that large packets
#     from containers are not dropped.  User-defined networks need the driver option
#     com.docker.network.driver.mtu for the same effect.
#   * containerd: dockerd starts its own managed containerd under the exec root (there is no
#     system containerd running); nothing to configure.
set -euo pipefail

SOCK_PATH="${PDC_DOCKER_SOCK:-/tmp/pdc-docker.sock}"
DOCKER_HOST_URL="unix://${SOCK_PATH}"
DATA_ROOT="${PDC_DOCKER_DATA:-/var/tmp/pdc-docker}"
RUN_DIR="${PDC_DOCKER_RUN:-/tmp/pdc-docker-run}"
EXEC_ROOT="${RUN_DIR}/exec"
PIDFILE="${RUN_DIR}/dockerd.pid"
LOG="${PDC_DOCKER_LOG:-/tmp/pdc-dockerd.log}"
START_TIMEOUT="${PDC_DOCKER_START_TIMEOUT:-60}"
STOP_TIMEOUT="${PDC_DOCKER_STOP_TIMEOUT:-30}"

log() { echo "dockerd.sh: $*" >&2; }

pid_alive() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse
  grep -qa dockerd "/proc/$pid/cmdline" 2>/dev/null
}

answers() {
  DOCKER_HOST="$DOCKER_HOST_URL" timeout 10 docker info >/dev/null 2>&1
}

uplink_mtu() {
  local dev
  dev="$(ip route show default 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="dev"){print $(i+1); exit}}')"
  [ -n "$dev" ] && cat "/sys/class/net/$dev/mtu" 2>/dev/null || true
}

need_binaries() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v iptables >/dev/null || missing+=(iptables)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

do_start() {
  # serialise concurrent starts (e.g. several test processes); the fd is not passed to dockerd
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/start.lock"
  flock -w "$START_TIMEOUT" 9 || { log "could not get $RUN_DIR/start.lock"; return 1; }
  if pid_alive && answers; then
    log "already running (pid $(cat "$PIDFILE")), $DOCKER_HOST_URL"
    return 0
  fi
  if pid_alive; then
    # running but not (yet) answering: maybe another start is in progress; wait for it
    log "dockerd pid $(cat "$PIDFILE") is running but not answering yet; waiting"
    wait_ready "$(cat "$PIDFILE")"
    return $?
  fi
  need_binaries
  mkdir -p "$DATA_ROOT" "$RUN_DIR"
  rm -f "$PIDFILE" "$SOCK_PATH"

  local args=(
    --host "$DOCKER_HOST_URL"
    --data-root "$DATA_ROOT"
    --exec-root "$EXEC_ROOT"
    --pidfile "$PIDFILE"
  )
  # storage driver
  if [ -n "${PDC_DOCKER_STORAGE:-}" ]; then
    args+=(--storage-driver "$PDC_DOCKER_STORAGE")
  elif ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
    args+=(--storage-driver vfs)
  fi
  # iptables
  if ! iptables -t nat -L -n >/dev/null 2>&1; then
    log "iptables does not work here; starting with --iptables=false (no NAT for containers)"
    args+=(--iptables=false --ip-masq=false)
  fi
  # MTU of the uplink if smaller than docker's default
  local mtu; mtu="$(uplink_mtu)"
  if [ -n "$mtu" ] && [ "$mtu" -lt 1500 ] 2>/dev/null; then
    args+=(--mtu "$mtu")
  fi
  # shellcheck disable=SC2206 # split on purpose: one flag per word
  [ -z "${PDC_DOCKER_ARGS:-}" ] || args+=(${PDC_DOCKER_ARGS})

  log "starting: dockerd ${args[*]} (log: $LOG)"
  echo "==== $(date -u +%FT%TZ) dockerd ${args[*]}" >>"$LOG"
  # setsid: own session, so the daemon survives the shell/job that started it
  setsid dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null 9>&- &
  wait_ready "$!"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answers; then
      log "ready (pid $pid) at $DOCKER_HOST_URL"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && ! pid_alive; then
      log "dockerd exited during start-up; last log lines:"
      tail -n 30 "$LOG" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "dockerd did not answer within ${START_TIMEOUT}s; last log lines:"
  tail -n 30 "$LOG" >&2 || true
  return 1
}

do_stop() {
  if ! pid_alive; then
    log "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  local pid; pid="$(cat "$PIDFILE")"
  log "stopping dockerd pid $pid (running containers are stopped by the daemon)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${STOP_TIMEOUT}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  # the managed containerd normally exits with dockerd; kill it if it was orphaned
  local cpid
  for cpidf in "$EXEC_ROOT/containerd/containerd.pid"; do
    if [ -s "$cpidf" ]; then
      cpid="$(cat "$cpidf")"
      if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null && grep -qa containerd "/proc/$cpid/cmdline"; then
        log "stopping orphaned containerd pid $cpid"
        kill -TERM "$cpid" 2>/dev/null || true
        sleep 2
        kill -0 "$cpid" 2>/dev/null && kill -KILL "$cpid" 2>/dev/null || true
      fi
    fi
  done
  rm -f "$PIDFILE"
  log "stopped"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status) if pid_alive && answers; then echo "running (pid $(cat "$PIDFILE")) at $DOCKER_HOST_URL"; else echo "not running"; exit 1; fi ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST_URL" ;;
  *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
