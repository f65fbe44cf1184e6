#!/usr/bin/env bash
# Builds the local images the tests use, without any image registry.
#
#   tests/infra/build-images.sh            # build what is missing or whose recipe changed
#   PDC_FORCE_REBUILD=1 tests/infra/build-images.sh   # rebuild everything (except the debootstrap base)
#   PDC_REBUILD_BASE=1 tests/infra/build-images.sh    # also re-debootstrap pdc/debian:bookworm
#
# Images (official name the components default to -> local image):
#   pdc/debian:bookworm   debootstrap --variant=minbase + docker import; also tagged
#                         debian:bookworm and debian:bookworm-slim
#   pdc/postgres:15       images/postgres/Dockerfile; also tagged postgres:15-bookworm, postgres:15
#   pdc/nginx:bookworm    images/nginx/Dockerfile;    also tagged nginx:stable-bookworm
#   pdc/consul:1.14.11    images/consul/Dockerfile; the consul binary built on the host from images/consul/go
#   pdc/consul-template:0.42.1   images/consul-template/Dockerfile; binary from images/consul-template/go
#   pdc/miniflux:2.3.5    images/miniflux/Dockerfile; binary from images/miniflux/go (the engine tests' real app)
#   pdc-example/<example>-<dir>:latest   every examples/*/*/Dockerfile, built with
#                         --build-arg BASE_IMAGE=pdc/debian:bookworm, context = the Dockerfile's dir
#
# Caching: every image carries the label pdc.recipe-hash = sha256 over its recipe (the files of
# its build context + build args + the id of its base image).  An image is rebuilt only when
# the label differs.  The engine's layer cache is used as well.
#
# Go programs (Consul, consul-template, Miniflux): `go build` on the host with the host's Go from the module pinned by
# images/<name>/go/go.mod and go.sum (the Go module proxy, like scripts/pulumi.sh), into a cache outside the
# clone keyed by those pins and the Go version; the binary is copied into an image FROM pdc/debian:bookworm.
#
# Starts the private engine (tests/infra/dockerd.sh start) if it is not running; leaves it running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
"$HERE/dockerd.sh" start
eval "$("$HERE/dockerd.sh" env)"
export DOCKER_HOST
# docker CLI >= 23 without the buildx plugin: the classic builder is used (prints a deprecation
# notice); the 20.10 engine from Debian supports it.  Force it so behaviour does not depend on
# whether buildx happens to be installed.
export DOCKER_BUILDKIT=0

LABEL=pdc.recipe-hash
BASE=pdc/debian:bookworm
SUITE=bookworm
# bump when the base recipe below changes: a base image whose recipe-hash label differs is built again
BASE_RECIPE_VERSION=1

declare -a SUMMARY=()
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
say() { echo "==> $*" >&2; }

image_label() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# sha256 over all files of a directory (relative path + content), plus extra strings
hash_dir() {
  local dir="$1"; shift
  {
    (cd "$dir" && find . -type f ! -path '*/node_modules/*' ! -path '*/.git/*' -print0 | LC_ALL=C sort -z |
      xargs -0 -r sha256sum)
    printf '%s\n' "$@"
  } | sha256sum | cut -d' ' -f1
}

# --- Debian mirror, as configured for apt on this machine -----------------------------------
# Prints "MIRROR SECURITY_MIRROR" (security may be empty).
host_mirrors() {
  python3 - "$SUITE" <<'EOF' 2>/dev/null || echo "http://deb.debian.org/debian http://deb.debian.org/debian-security"
import glob, re, sys
suite = sys.argv[1]
main = sec = None
entries = []  # (uris, suites)
for f in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    for stanza in re.split(r'\n\s*\n', open(f).read()):
        d = {}
        for line in stanza.splitlines():
            if line.startswith('#') or ':' not in line: continue
            k, v = line.split(':', 1); d[k.strip().lower()] = v.split()
        if 'deb' in d.get('types', []) and d.get('enabled', ['yes'])[0].lower() != 'no':
            entries.append((d.get('uris', []), d.get('suites', [])))
for f in ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list')):
    try: lines = open(f).read().splitlines()
    except OSError: continue
    for line in lines:
        line = re.sub(r'\[[^]]*\]', '', line.split('#', 1)[0]).split()
        if len(line) >= 3 and line[0] == 'deb': entries.append(([line[1]], [line[2]]))
for uris, suites in entries:
    for u in uris:
        u = u.rstrip('/')
        if suite in suites and main is None: main = u
        if suite + '-security' in suites and sec is None: sec = u
print(main or 'http://deb.debian.org/debian', sec or '')
EOF
}

# --- pdc/debian:bookworm ---------------------------------------------------------------------
build_base() {
  local t0; t0="$(now)"
  read -r MIRROR SEC_MIRROR < <(host_mirrors)
  local hash; hash="$(printf '%s\n' "$BASE_RECIPE_VERSION" "$SUITE" "$MIRROR" "$SEC_MIRROR" | sha256sum | cut -d' ' -f1)"
  if [ -z "${PDC_REBUILD_BASE:-}" ] && [ -n "$(image_id "$BASE")" ] && [ "$(image_label "$BASE")" = "$hash" ]; then
    say "$BASE: cached (same recipe)"
    SUMMARY+=("$BASE cached $(elapsed "$t0")s")
    tag_base_aliases
    return 0
  fi
  command -v debootstrap >/dev/null || {
    say "installing debootstrap"; apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2; }
  # A global, not a local: the EXIT trap runs after this function has returned (and under set -u).
  BASE_WORK="$(mktemp -d /var/tmp/pdc-debootstrap.XXXXXX)"
  trap 'rm -rf "${BASE_WORK:-}"' EXIT
  local work="$BASE_WORK"
  local rootfs="$work/rootfs"
  say "$BASE: debootstrap --variant=minbase $SUITE from $MIRROR (log: $work/debootstrap.log)"
  if ! debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    cat "$rootfs/debootstrap/debootstrap.log" 2>/dev/null | tail -n 30 >&2 || true
    return 1
  fi
  local t_boot; t_boot="$(elapsed "$t0")"

  # apt sources like the host's (main suite, -updates, -security)
  rm -f "$rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$MIRROR" "$SUITE" "$SUITE"
    if [ -n "$SEC_MIRROR" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$SEC_MIRROR" "$SUITE"
    fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"
  # the host's mirror may be a frozen snapshot: copy apt's date-check overrides if the host has them
  grep -rhE '^\s*Acquire::Check-(Valid-Until|Date)' /etc/apt/apt.conf /etc/apt/apt.conf.d/ 2>/dev/null \
    >"$rootfs/etc/apt/apt.conf.d/99pdc-host-overrides" || rm -f "$rootfs/etc/apt/apt.conf.d/99pdc-host-overrides"
  # like the official debian image: keep the image small, no interactive prompts
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs/debootstrap" \
    "$rootfs"/usr/share/doc/*/changelog* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  : >"$rootfs/etc/resolv.conf"; : >"$rootfs/etc/hostname"

  say "$BASE: docker import"
  tar --numeric-owner --xattrs -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL $LABEL=$hash" \
      - "$BASE" >/dev/null
  rm -rf "$work"; trap - EXIT
  tag_base_aliases
  say "$BASE: built in $(elapsed "$t0")s (debootstrap ${t_boot}s)"
  SUMMARY+=("$BASE built $(elapsed "$t0")s (debootstrap ${t_boot}s)")
}

tag_base_aliases() {
  docker tag "$BASE" debian:bookworm
  docker tag "$BASE" debian:bookworm-slim
}

# --- Dockerfile images -----------------------------------------------------------------------
# build_dockerfile <image> <context dir> [extra tags...] [-- build args...]
build_dockerfile() {
  local image="$1" ctx="$2"; shift 2
  local -a tags=() bargs=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; bargs=("$@"); break; fi
    tags+=("$1"); shift
  done
  local t0; t0="$(now)"
  # RECIPE_HASH: the caller's recipe hash (build_go_image: sources and pins rather than the built binary)
  local hash="${RECIPE_HASH:-}"
  [ -n "$hash" ] || hash="$(hash_dir "$ctx" "${bargs[@]+"${bargs[@]}"}" "base=$(image_id "$BASE")")"
  if [ -z "${PDC_FORCE_REBUILD:-}" ] && [ "$(image_label "$image")" = "$hash" ]; then
    local t; for t in "${tags[@]+"${tags[@]}"}"; do docker tag "$image" "$t"; done
    say "$image: cached (recipe unchanged)"
    SUMMARY+=("$image cached $(elapsed "$t0")s")
    return 0
  fi
  local -a cmd=(docker build --network host --label "$LABEL=$hash" -t "$image")
  local t a
  for t in "${tags[@]+"${tags[@]}"}"; do cmd+=(-t "$t"); done
  for a in "${bargs[@]+"${bargs[@]}"}"; do cmd+=(--build-arg "$a"); done
  cmd+=("$ctx")
  say "$image: building from ${ctx#"$REPO"/}"
  local logf; logf="$(mktemp /tmp/pdc-build.XXXXXX.log)"
  if ! "${cmd[@]}" >"$logf" 2>&1; then
    say "$image: BUILD FAILED; last lines of $logf:"
    tail -n 40 "$logf" >&2
    SUMMARY+=("$image FAILED $(elapsed "$t0")s (log $logf)")
    FAILED=1
    return 0
  fi
  rm -f "$logf"
  say "$image: built in $(elapsed "$t0")s"
  SUMMARY+=("$image built $(elapsed "$t0")s")
}

# --- images of Go programs built on the host ---------------------------------------------------
GO_BIN_CACHE="${PDC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster}"
# build_go_image <image> <images/ dir> <go package> <binary name> [extra tags...]
# The build context is the dir without go/, plus the binary.
build_go_image() {
  local image="$1" dir="$2" pkg="$3" bin="$4"; shift 4
  local t0; t0="$(now)"
  if ! command -v go >/dev/null; then
    say "$image: no Go toolchain on PATH (needed to build $pkg); install Go"
    SUMMARY+=("$image FAILED (no go)"); FAILED=1; return 0
  fi
  local key; key="$( { cat "$dir/go/go.mod" "$dir/go/go.sum"; go version; echo "${GO_BUILD_FLAGS[*]}"; } | sha256sum | cut -c1-16)"
  local out="$GO_BIN_CACHE/gobin-$bin-$key/$bin"
  # The image's recipe: its folder (Dockerfile, pins), the Go version, the flags, the base image.
  local recipe; recipe="$(hash_dir "$dir" "$key" "base=$(image_id "$BASE")")"
  if [ -z "${PDC_FORCE_REBUILD:-}" ] && [ "$(image_label "$image")" = "$recipe" ]; then
    local t; for t in "$@"; do docker tag "$image" "$t"; done
    say "$image: cached (recipe unchanged)"
    SUMMARY+=("$image cached $(elapsed "$t0")s")
    return 0
  fi
  if [ ! -x "$out" ]; then
    mkdir -p "$(dirname "$out")"
    local logf; logf="$(mktemp /tmp/pdc-gobuild.XXXXXX.log)"
    say "$image: go build $pkg (log: $logf)"
    if ! (cd "$dir/go" && GOFLAGS="-mod=readonly -buildvcs=false" nice go build "${GO_BUILD_FLAGS[@]}" -o "$out.tmp.$$" "$pkg") >"$logf" 2>&1; then
      say "$image: GO BUILD FAILED; last lines of $logf:"; tail -n 40 "$logf" >&2
      rm -f "$out.tmp.$$"
      SUMMARY+=("$image FAILED go build $(elapsed "$t0")s (log $logf)"); FAILED=1; return 0
    fi
    mv "$out.tmp.$$" "$out"; rm -f "$logf"
    SUMMARY+=("$bin binary built $(elapsed "$t0")s")
  fi
  local ctx; ctx="$(mktemp -d /tmp/pdc-goimage.XXXXXX)"
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 ! -name go -exec cp -a {} "$ctx/" \;)
  cp "$out" "$ctx/$bin"
  RECIPE_HASH="$recipe" build_dockerfile "$image" "$ctx" "$@" -- "BASE_IMAGE=$BASE"
  rm -rf "$ctx"
}
# Stripped, without file-system paths: the same pins and Go give the same binary (and so the same recipe hash).
GO_BUILD_FLAGS=(-trimpath "-ldflags=-s -w")

FAILED=0
T_ALL="$(now)"
build_base
build_dockerfile pdc/postgres:15 "$REPO/images/postgres" postgres:15-bookworm postgres:15
build_dockerfile pdc/nginx:bookworm "$REPO/images/nginx" nginx:stable-bookworm
build_go_image pdc/consul-template:0.42.1 "$REPO/images/consul-template" github.com/hashicorp/consul-template consul-template
build_go_image pdc/consul:1.14.11 "$REPO/images/consul" github.com/hashicorp/consul consul
build_go_image pdc/miniflux:2.3.5 "$REPO/images/miniflux" miniflux.app/v2 miniflux

shopt -s nullglob
declare -A seen=()
n_examples=0
for df in "$REPO"/examples/*/app*/Dockerfile "$REPO"/examples/*/*/Dockerfile; do
  [ -n "${seen[$df]:-}" ] && continue
  seen[$df]=1
  dir="$(dirname "$df")"
  ex="$(basename "$(dirname "$dir")")"
  name="$(basename "$dir")"
  img="pdc-example/$(echo "$ex-$name" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9._\n-' '-'):latest"
  build_dockerfile "$img" "$dir" -- "BASE_IMAGE=$BASE"
  n_examples=$((n_examples + 1))
done
[ "$n_examples" -gt 0 ] || say "no examples/*/*/Dockerfile found; no example images built"

# drop superseded versions of our images (dangling, carrying our label); other images untouched
docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true

echo
echo "build-images.sh summary (DOCKER_HOST=$DOCKER_HOST):"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "  total $(elapsed "$T_ALL")s"
exit "$FAILED"
