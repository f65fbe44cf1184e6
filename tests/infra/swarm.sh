#!/usr/bin/env bash
# A second private Docker engine, in swarm mode, for the swarm tests. It runs in a network namespace of its own.
#
#   tests/infra/swarm.sh start   # netns + dockerd + `swarm init` + images (each step a no-op when done already)
#   tests/infra/swarm.sh stop    # leave the swarm, stop dockerd, remove the netns (data root kept)
#   tests/infra/swarm.sh status  # exit 0 if running, answering and an active swarm manager
#   tests/infra/swarm.sh env     # prints the exports below
#   eval "$(tests/infra/swarm.sh env)"
#     PDC_SWARM_DOCKER_HOST=unix:///tmp/pdc-swarm.sock   the engine (its socket is a file: reachable from the host)
#     PDC_SWARM_NODE_IP=10.213.0.2                        the node's address, reachable from the host over a veth
#     PDC_SWARM_NETNS=pdc-swarm                           `ip netns exec` it to see the node's own 127.0.0.1
#
# Why a network namespace and not just another socket: at start-up dockerd's bridge driver removes and recreates
# the DOCKER, DOCKER-ISOLATION-* chains (libnetwork `removeIPChains` then `setupIPChains`), so a second engine with
# iptables in the same namespace would wipe the published ports of the shared engine (tests/infra/dockerd.sh) while
# other tests use it. It would also fight over docker0. In its own namespace it has its own iptables, docker0 and
# docker_gwbridge, and nothing it does reaches the shared engine. The namespace is joined to the host by a veth
# pair (10.213.0.1 host side, 10.213.0.2 node side, a /30 of our own); the node's address is the only way in.
#
# Layout (overridable through the environment, like dockerd.sh):
#   socket     /tmp/pdc-swarm.sock          (PDC_SWARM_SOCK)
#   data root  /var/tmp/pdc-swarm           (PDC_SWARM_DATA; kept across runs -> loaded images stay cached)
#   exec root  /tmp/pdc-swarm-run/exec      (PDC_SWARM_RUN=/tmp/pdc-swarm-run; pidfile there too)
#   log        /tmp/pdc-swarm-dockerd.log   (PDC_SWARM_LOG)
#   netns      pdc-swarm                    (PDC_SWARM_NETNS), veth pdcsw0 / pdcsw1, 10.213.0.0/30 (PDC_SWARM_NET=10.213.0)
#   images     loaded from the shared engine (PDC_DOCKER_SOCK, default /tmp/pdc-docker.sock): PDC_SWARM_IMAGES
set -euo pipefail

SOCK_PATH="${PDC_SWARM_SOCK:-/tmp/pdc-swarm.sock}"
HOST_URL="unix://${SOCK_PATH}"
DATA_ROOT="${PDC_SWARM_DATA:-/var/tmp/pdc-swarm}"
RUN_DIR="${PDC_SWARM_RUN:-/tmp/pdc-swarm-run}"
EXEC_ROOT="${RUN_DIR}/exec"
PIDFILE="${RUN_DIR}/dockerd.pid"
LOG="${PDC_SWARM_LOG:-/tmp/pdc-swarm-dockerd.log}"
NETNS="${PDC_SWARM_NETNS:-pdc-swarm}"
NET="${PDC_SWARM_NET:-10.213.0}"
HOST_IP="${NET}.1"
NODE_IP="${NET}.2"
VETH_HOST="${PDC_SWARM_VETH:-pdcsw0}"
VETH_NODE="${VETH_HOST%0}1"
SHARED_URL="unix://${PDC_DOCKER_SOCK:-/tmp/pdc-docker.sock}"
# What the swarm tests run; the official names are tags of the same images on the shared engine.
IMAGES="${PDC_SWARM_IMAGES:-pdc/debian:bookworm debian:bookworm pdc/postgres:15 postgres:15-bookworm pdc/nginx:bookworm nginx:stable-bookworm pdc-example/three-tier-app:latest}"
START_TIMEOUT="${PDC_SWARM_START_TIMEOUT:-60}"
STOP_TIMEOUT="${PDC_SWARM_STOP_TIMEOUT:-30}"

# shellcheck source=lib/netns-dockerd.sh
. "$(dirname "$0")/lib/netns-dockerd.sh"
ND_NAME=swarm.sh ND_URL="$HOST_URL" ND_PIDFILE="$PIDFILE" ND_LOG="$LOG" ND_NETNS="$NETNS" ND_TIMEOUT="$START_TIMEOUT"
ND_STOP_TIMEOUT="$STOP_TIMEOUT"
log() { nd_log "$@"; }
sw() { ND_CMD_TIMEOUT="${SW_TIMEOUT:-60}" nd_docker "$@"; }
pid_alive() { nd_pid_alive; }
answers() { nd_answers; }
swarm_state() { SW_TIMEOUT=10 sw info --format '{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}' 2>/dev/null || true; }

setup_netns() {
  nd_ensure_netns "$NETNS"
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_NODE"
    ip link set "$VETH_NODE" netns "$NETNS"
    ip addr add "${HOST_IP}/30" dev "$VETH_HOST"
    ip link set "$VETH_HOST" up
    nd_in "$NETNS" ip addr add "${NODE_IP}/30" dev "$VETH_NODE"
    nd_in "$NETNS" ip link set "$VETH_NODE" up
  fi
  # No default route (the host is on the /30): a registry lookup (swarm tries one before it runs a task given by a
  # tag) then fails at once with "network is unreachable" instead of waiting out DNS timeouts, ~20 s per task start.
  nd_in "$NETNS" ip route del default 2>/dev/null || true
  # dockerd turns forwarding on itself; route_localnet is not needed (ports are reached at the node's address)
}

do_start() {
  mkdir -p "$RUN_DIR" "$DATA_ROOT"
  exec 9>"$RUN_DIR/start.lock"
  flock -w "$START_TIMEOUT" 9 || { log "could not get $RUN_DIR/start.lock"; return 1; }
  command -v dockerd >/dev/null || { log "dockerd is missing: run tests/infra/dockerd.sh start first (it installs docker.io)"; return 1; }
  setup_netns
  # Own bridge address and pools: not needed for isolation (own netns) but kept apart from the shared engine's
  # 172.17-31/192.168 so that addresses in logs and `docker inspect` are never ambiguous.
  nd_start_dockerd --host "$HOST_URL" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
    --bip 10.214.0.1/24 --default-address-pool base=10.215.0.0/16,size=24
  case "$(swarm_state)" in
    active/true) log "swarm already active" ;;
    inactive/*)
      log "docker swarm init --advertise-addr $NODE_IP"
      sw swarm init --advertise-addr "$NODE_IP" --listen-addr "$NODE_IP:2377" \
        --default-addr-pool 10.216.0.0/16 --default-addr-pool-mask-length 24 >/dev/null
      ;;
    *) log "unexpected swarm state '$(swarm_state)'"; return 1 ;;
  esac
  # shellcheck disable=SC2086 # a list of image names
  nd_load_images "$SHARED_URL" $IMAGES
  log "ready: $HOST_URL, node $NODE_IP"
}

do_stop() {
  nd_stop_dockerd "$EXEC_ROOT"
  ip link del "$VETH_HOST" 2>/dev/null || true
  ip netns del "$NETNS" 2>/dev/null || true
  log "stopped"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_stop; do_start ;;
  status)
    if pid_alive && answers && [ "$(swarm_state)" = active/true ]; then
      echo "running (pid $(cat "$PIDFILE")) at $HOST_URL, swarm manager on $NODE_IP"
    else echo "not running"; exit 1; fi ;;
  env)
    echo "export PDC_SWARM_DOCKER_HOST=$HOST_URL"
    echo "export PDC_SWARM_NODE_IP=$NODE_IP"
    echo "export PDC_SWARM_NETNS=$NETNS" ;;
  *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
