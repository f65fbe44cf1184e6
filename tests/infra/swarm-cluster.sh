#!/usr/bin/env bash
# A swarm of 3 Docker engines, each in a network namespace of its own, for the multi-host test
# (tests/engine/swarm-multihost.test.ts). Node 1 is the manager, nodes 2 and 3 workers.
#
#   tests/infra/swarm-cluster.sh start   # namespaces, links, 3 dockerd, the swarm, images; also heals a node a test
#                                        # stopped (engine restarted, link up, wait until the manager sees it Ready)
#   tests/infra/swarm-cluster.sh stop    # every node leaves, dockerd stopped, namespaces removed (data roots kept)
#   tests/infra/swarm-cluster.sh status  # exit 0 if the 3 nodes are Ready and active
#   tests/infra/swarm-cluster.sh env     # the exports below; eval "$(tests/infra/swarm-cluster.sh env)"
#     PDC_MH_DOCKER_HOST=unix:///tmp/pdc-mh1.sock   node 1, the manager (`docker:host` of the test's stack)
#     PDC_MH_NODE_IPS="10.217.0.11 10.217.0.12 10.217.0.13"
#     PDC_MH_HOSTNAMES="pdc-mh1 pdc-mh2 pdc-mh3"     each engine's host name = its swarm node name
#     PDC_MH_SOCKS="/tmp/pdc-mh1.sock /tmp/pdc-mh2.sock /tmp/pdc-mh3.sock"
#     PDC_MH_HUB_NETNS=pdc-mh0                       the namespace holding the bridge (a node's link: pdcmh<n>b there)
#
# Network: the nodes' namespaces pdc-mh1..3 hang off a bridge pdcmhbr, 10.217.0.1/24, which lives in a hub namespace
# pdc-mh0 of its own, not in the host's: the host's FORWARD policy is DROP (set by the shared engine) and
# br_netfilter is on (bridge-nf-call-iptables=1), so frames bridged between the nodes in the host's namespace would
# go through the shared engine's filter chains; letting them through would mean editing those. In the hub's
# namespace nothing filters. The host reaches the nodes through a routed veth to the hub, 10.217.1.1 (host) /
# 10.217.1.2 (hub), route 10.217.0.0/24 via the hub. Node n: veth pdcmh<n>b (hub) / eth0 (node), 10.217.0.1<n>.
#
# Per node n (1..3): socket /tmp/pdc-mh<n>.sock, data root /var/tmp/pdc-mh<n> (kept: loaded images stay), exec root
# and pidfile under /tmp/pdc-mh<n>-run, log /tmp/pdc-mh<n>-dockerd.log, host name pdc-mh<n> (its own UTS namespace),
# --bip 10.218.<n>.1/24, local pools 10.219.<32n>.0/19. The swarm's overlay pool is 10.220.0.0/16. None of it overlaps
# the shared engine's (172.17–31) or tests/infra/swarm.sh's (10.213–10.216).
# Swarm: dispatcher heartbeat PDC_MH_HEARTBEAT (2s; swarmkit declares a node down after 3 missed periods, so ~6 s
# instead of ~15 s with the default 5s: a failover test that waits for it stays short).
set -euo pipefail
# shellcheck source=lib/netns-dockerd.sh
. "$(dirname "$0")/lib/netns-dockerd.sh"

NODES=(1 2 3)
HUB_NS=pdc-mh0
BRIDGE=pdcmhbr
NET=10.217.0
HOST_LINK=pdcmh0          # host side of the host-hub veth; pdcmh0h in the hub
HEARTBEAT="${PDC_MH_HEARTBEAT:-2s}"
SHARED_URL="unix://${PDC_DOCKER_SOCK:-/tmp/pdc-docker.sock}"
# Node 1 runs Postgres (pinned) and its admin proxy (a container); any node may run nginx and app replicas.
IMAGES_MANAGER="${PDC_MH_IMAGES_MANAGER:-pdc/postgres:15 postgres:15-bookworm pdc/nginx:bookworm nginx:stable-bookworm pdc-example/three-tier-app:latest}"
IMAGES_WORKER="${PDC_MH_IMAGES_WORKER:-pdc/nginx:bookworm nginx:stable-bookworm pdc-example/three-tier-app:latest}"
TIMEOUT="${PDC_MH_TIMEOUT:-60}"
LOCK=/tmp/pdc-mh.lock

node_ip() { echo "${NET}.1$1"; }
# Points the ND_* variables of lib/netns-dockerd.sh at node $1.
use_node() {
  ND_NAME="swarm-cluster.sh[mh$1]"; ND_URL="unix:///tmp/pdc-mh$1.sock"; ND_PIDFILE="/tmp/pdc-mh$1-run/dockerd.pid"
  ND_LOG="/tmp/pdc-mh$1-dockerd.log"; ND_NETNS="pdc-mh$1"; ND_TIMEOUT="$TIMEOUT"; ND_HOSTNAME="pdc-mh$1"
}
log() { echo "swarm-cluster.sh: $*" >&2; }

setup_hub() {
  nd_ensure_netns "$HUB_NS"
  if ! nd_in "$HUB_NS" ip link show "$BRIDGE" >/dev/null 2>&1; then
    nd_in "$HUB_NS" ip link add "$BRIDGE" type bridge
    nd_in "$HUB_NS" ip addr add "${NET}.1/24" dev "$BRIDGE"
  fi
  nd_in "$HUB_NS" ip link set "$BRIDGE" up
  nd_in "$HUB_NS" sysctl -qw net.ipv4.ip_forward=1
  if ! ip link show "$HOST_LINK" >/dev/null 2>&1; then
    ip link add "$HOST_LINK" type veth peer name "${HOST_LINK}h" netns "$HUB_NS"
    ip addr add 10.217.1.1/30 dev "$HOST_LINK"
    nd_in "$HUB_NS" ip addr add 10.217.1.2/30 dev "${HOST_LINK}h"
  fi
  ip link set "$HOST_LINK" up
  nd_in "$HUB_NS" ip link set "${HOST_LINK}h" up
  ip route replace "${NET}.0/24" via 10.217.1.2 dev "$HOST_LINK"
}

# Node $1's namespace and its link to the bridge; brings the link up again if a test took it down.
setup_node_net() {
  local n="$1" ns="pdc-mh$1" port="pdcmh$1b"
  nd_ensure_netns "$ns"
  if ! nd_in "$HUB_NS" ip link show "$port" >/dev/null 2>&1; then
    nd_in "$ns" ip link del eth0 2>/dev/null || true
    nd_in "$HUB_NS" ip link add "$port" type veth peer name eth0 netns "$ns"
    nd_in "$HUB_NS" ip link set "$port" master "$BRIDGE"
    nd_in "$ns" ip addr add "$(node_ip "$n")/24" dev eth0
  fi
  nd_in "$HUB_NS" ip link set "$port" up
  nd_in "$ns" ip link set eth0 up
  # A route back to the host, and no default route: a lookup of a registry (swarm tries to pull every image before
  # it runs a task) then fails at once with "network is unreachable" instead of a 20 s DNS timeout per task.
  nd_in "$ns" ip route replace 10.217.1.0/30 via "${NET}.1"
  nd_in "$ns" ip route del default 2>/dev/null || true
}

start_node_engine() {
  local n="$1" run="/tmp/pdc-mh$1-run"
  use_node "$n"
  mkdir -p "$run" "/var/tmp/pdc-mh$n"
  nd_start_dockerd --host "$ND_URL" --data-root "/var/tmp/pdc-mh$n" --exec-root "$run/exec" --pidfile "$ND_PIDFILE" \
    --bip "10.218.$n.1/24" --default-address-pool "base=10.219.$((32 * n)).0/19,size=24"
}

local_state() { ND_CMD_TIMEOUT=10 nd_docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

# The swarm: init on node 1, the workers join (a worker whose engine lost its swarm state leaves and rejoins).
form_swarm() {
  use_node 1
  case "$(local_state)" in
    active) ;;
    inactive)
      log "docker swarm init on node 1 ($(node_ip 1)), dispatcher heartbeat $HEARTBEAT"
      nd_docker swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" \
        --default-addr-pool 10.220.0.0/16 --default-addr-pool-mask-length 24 \
        --dispatcher-heartbeat "$HEARTBEAT" >/dev/null ;;
    *) log "node 1: unexpected swarm state '$(local_state)'"; return 1 ;;
  esac
  local token n known; token="$(nd_docker swarm join-token -q worker)"
  known="$(nd_docker node ls -q)"
  for n in 2 3; do
    use_node "$n"
    # A worker still in a former swarm (node 1's data root wiped, say) is active but unknown to this manager.
    case "$(local_state)/$(grep -qxF "$(ND_CMD_TIMEOUT=10 nd_docker info -f '{{.Swarm.NodeID}}' 2>/dev/null)" <<<"$known" && echo known)" in
      active/known|pending/known) ;;
      *)
        log "node $n joins"
        nd_docker swarm leave --force >/dev/null 2>&1 || true
        # A stale entry of the same host name (a former join) would leave two nodes named alike.
        use_node 1; stale_nodes "pdc-mh$n" | xargs -r timeout 30 env DOCKER_HOST="$ND_URL" docker node rm --force >/dev/null || true
        use_node "$n"
        nd_docker swarm join --token "$token" --advertise-addr "$(node_ip "$n")" --listen-addr "$(node_ip "$n"):2377" \
          "$(node_ip 1):2377" >/dev/null ;;
    esac
  done
}

# IDs of the nodes named $1 that are down (as seen by the manager; ND_* on node 1).
stale_nodes() {
  nd_docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v h="$1" '$2 == h && $3 == "Down" { print $1 }'
}

# Bounded: until the manager sees all 3 nodes Ready and no stale Down duplicate.
wait_all_ready() {
  use_node 1
  local deadline=$((SECONDS + TIMEOUT)) ready
  while [ "$SECONDS" -lt "$deadline" ]; do
    ready="$(nd_docker node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | awk '$2 == "Ready"' | sort -u | wc -l)"
    [ "$ready" -eq 3 ] && return 0
    sleep 0.5
  done
  log "the manager does not see 3 Ready nodes within ${TIMEOUT}s:"; nd_docker node ls >&2 || true; return 1
}

do_start() {
  exec 9>"$LOCK"
  flock -w "$TIMEOUT" 9 || { log "could not get $LOCK"; return 1; }
  command -v dockerd >/dev/null || { log "dockerd is missing: run tests/infra/dockerd.sh start first (it installs docker.io)"; return 1; }
  setup_hub
  local n pids=() rc=0
  for n in "${NODES[@]}"; do setup_node_net "$n"; done
  for n in "${NODES[@]}"; do start_node_engine "$n" & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  [ "$rc" -eq 0 ] || return 1
  form_swarm
  wait_all_ready
  # Forget former incarnations of the workers (Down duplicates of a Ready host name) so `node ls` stays 3 lines.
  use_node 1
  for n in 2 3; do stale_nodes "pdc-mh$n" | xargs -r timeout 30 env DOCKER_HOST="$ND_URL" docker node rm --force >/dev/null || true; done
  pids=()
  for n in "${NODES[@]}"; do
    use_node "$n"
    if [ "$n" = 1 ]; then nd_load_images "$SHARED_URL" $IMAGES_MANAGER & else nd_load_images "$SHARED_URL" $IMAGES_WORKER & fi
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  [ "$rc" -eq 0 ] || return 1
  log "ready: manager unix:///tmp/pdc-mh1.sock, nodes $(node_ip 1) $(node_ip 2) $(node_ip 3)"
}

do_stop() {
  local n
  # Workers first: a manager leaving first would leave them pointing at nothing.
  for n in 3 2 1; do
    use_node "$n"
    nd_stop_dockerd "/tmp/pdc-mh$n-run/exec"
    ip netns del "pdc-mh$n" 2>/dev/null || true
  done
  ip link del "$HOST_LINK" 2>/dev/null || true
  ip route del "${NET}.0/24" 2>/dev/null || true
  ip netns del "$HUB_NS" 2>/dev/null || true
  log "stopped"
}

do_status() {
  local n
  for n in "${NODES[@]}"; do
    use_node "$n"
    { nd_pid_alive && nd_answers && [ "$(local_state)" = active ]; } || { echo "not running (node $n)"; return 1; }
  done
  use_node 1
  [ "$(nd_docker node ls --format '{{.Status}}' | grep -c '^Ready$')" -ge 3 ] || { echo "not all nodes Ready"; return 1; }
  echo "running: 3 nodes Ready, manager unix:///tmp/pdc-mh1.sock"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env)
    echo "export PDC_MH_DOCKER_HOST=unix:///tmp/pdc-mh1.sock"
    echo "export PDC_MH_NODE_IPS=\"$(node_ip 1) $(node_ip 2) $(node_ip 3)\""
    echo "export PDC_MH_HOSTNAMES=\"pdc-mh1 pdc-mh2 pdc-mh3\""
    echo "export PDC_MH_SOCKS=\"/tmp/pdc-mh1.sock /tmp/pdc-mh2.sock /tmp/pdc-mh3.sock\""
    echo "export PDC_MH_HUB_NETNS=$HUB_NS" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
