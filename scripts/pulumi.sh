#!/usr/bin/env bash
# The Pulumi CLI this project runs: one already on PATH (a user's machine, installed the usual way), or else the
# pinned CLI built from Go modules (tools/pulumi: go.mod and go.sum pin every module) into a cache outside the
# clone, keyed by the pins, so later runs and CI on the same machine reuse it.
#
#   bash scripts/pulumi.sh path    prints the CLI's path (builds it first when needed)
#   bash scripts/pulumi.sh env     prints `export` lines: PATH (the CLI and the dynamic-provider plugin), PDC_PULUMI,
#                                  and, for the CLI built here, automatic plugin download off (eval them)
#   bash scripts/pulumi.sh build   builds the pinned CLI even when one is on PATH; prints its path
#
# PDC_PULUMI=/path/to/pulumi chooses a CLI explicitly. PDC_TOOLS_CACHE moves the cache
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/tools/pulumi"
# Oldest CLI that runs destroy and refresh of inline Automation API programs (`--client`), which the tests use.
MIN_VERSION=3.181.0

pinned_version() { awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$TOOLS/go.mod"; }

cache_dir() {
  local key
  key=$( { cat "$TOOLS/go.mod" "$TOOLS/go.sum"; go version; echo "tags=osusergo,grpcnotrace"; } | sha256sum | cut -c1-16)
  echo "${PDC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster}/pulumi-$(pinned_version)-$key"
}

version_ok() { # $1: a pulumi binary
  local v
  v=$("$1" version 2>/dev/null | sed 's/^v//; s/-.*//') || return 1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

build() {
  command -v go >/dev/null || { echo "scripts/pulumi.sh: no Pulumi CLI on PATH and no Go toolchain to build one; install either" >&2; exit 2; }
  local dir ver t0
  dir=$(cache_dir); ver=$(pinned_version)
  if [ ! -x "$dir/bin/pulumi" ]; then
    t0=$(date +%s)
    echo "scripts/pulumi.sh: building the Pulumi CLI $ver from Go modules into $dir (cold: several minutes)" >&2
    mkdir -p "$dir"
    # Built to a temporary name and moved, so an interrupted build never leaves a half-written binary in place.
    (cd "$TOOLS" && go build -tags osusergo,grpcnotrace \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" \
      -o "$dir/bin/pulumi.tmp.$$" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$dir/bin/pulumi.tmp.$$" "$dir/bin/pulumi"
    echo "scripts/pulumi.sh: built in $(( $(date +%s) - t0 ))s" >&2
  fi
  echo "$dir/bin/pulumi"
}

cli() {
  if [ -n "${PDC_PULUMI:-}" ]; then echo "$PDC_PULUMI"; return; fi
  local onpath
  onpath=$(command -v pulumi || true)
  if [ -n "$onpath" ] && version_ok "$onpath"; then echo "$onpath"; return; fi
  build
}

case "${1:-path}" in
  path) cli ;;
  build) build ;;
  env)
    bin=$(cli)
    case "$bin" in "$(cache_dir)"/*)
      # The dynamic-provider plugin goes beside the CLI, where the engine looks for the plugins it bundles.
      cp -f "$TOOLS/pulumi-resource-pulumi-nodejs" "$(dirname "$bin")/" ;;
    esac
    echo "export PATH=\"$(dirname "$bin"):\$PATH\""
    echo "export PDC_PULUMI=\"$bin\""
    echo "export PULUMI_SKIP_UPDATE_CHECK=true"
    # The CLI built here cannot download plugins (no network but the package registries): say so up front
    # instead of a download error. A CLI installed the usual way keeps its default.
    case "$bin" in "$(cache_dir)"/*) echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true" ;; esac
    ;;
  *) echo "usage: bash scripts/pulumi.sh [path|env|build]" >&2; exit 2 ;;
esac
