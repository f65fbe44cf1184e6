#!/usr/bin/env bash
# The Pulumi engine this project runs: a CLI already on PATH (a user's machine, installed the usual way, with
# its plugins), or else the pinned toolchain built from Go modules (tools/: go.mod and go.sum pin every module)
# into a cache outside the clone, keyed by the pins, so later runs and CI on the same machine reuse it:
#   - the Pulumi CLI (tools/pulumi) and, beside it, the dynamic-provider plugin;
#   - the docker and random resource plugins (tools/docker, tools/random: the Terraform providers through
#     pulumi-terraform-bridge), installed into the toolchain's own PULUMI_HOME.
#
#   bash scripts/pulumi.sh path    prints the CLI's path (builds the toolchain first when needed)
#   bash scripts/pulumi.sh env     prints `export` lines (eval them): PATH, PDC_PULUMI and, for the toolchain
#                                  built here, PULUMI_HOME and automatic plugin download off
#   bash scripts/pulumi.sh build   builds the pinned toolchain even when a CLI is on PATH; prints the CLI's path
#   bash scripts/pulumi.sh schema  regenerates tools/{docker,random}/cmd/pulumi-resource-*/schema.json (tfgen)
#
# PDC_PULUMI=/path/to/pulumi chooses a CLI explicitly. PDC_TOOLS_CACHE moves the cache
# (default ${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/tools"
# Oldest CLI that runs destroy and refresh of inline Automation API programs (`--client`), which the tests use.
MIN_VERSION=3.181.0
# Build tags: upstream's release tags for the CLI; the docker provider without its compose half (not bridged).
CLI_TAGS=osusergo,grpcnotrace
DOCKER_TAGS=no_compose

cli_version() { awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' "$TOOLS/pulumi/go.mod"; }
# A plugin's version is the one the npm SDK of the same name asks the engine for (see tools/README.md).
plugin_version() { sed -n 's/^const Version = "\(.*\)"$/\1/p' "$TOOLS/$1/provider.go"; }

cache_dir() {
  local key
  # Everything that goes into the binaries: sources, pins, the Go version and the tags (not the docs).
  key=$( { (cd "$TOOLS" && find . -type f ! -name "*.md" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); go version 2>/dev/null; echo "$CLI_TAGS $DOCKER_TAGS"; } | sha256sum | cut -c1-16)
  echo "${PDC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-docker-cluster}/toolchain-$(cli_version)-$key"
}

version_ok() { # $1: a pulumi binary
  local v
  v=$("$1" version 2>/dev/null | sed 's/^v//; s/-.*//') || return 1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

# go build into $2 from module folder $1; the rest are go build arguments. Built to a temporary name and moved,
# so an interrupted build never leaves a half-written binary in place.
gobuild() {
  local mod=$1 out=$2; shift 2
  (cd "$TOOLS/$mod" && go build -o "$out.tmp.$$" "$@")
  mv "$out.tmp.$$" "$out"
}

build() {
  command -v go >/dev/null || { echo "scripts/pulumi.sh: no Pulumi CLI on PATH and no Go toolchain to build one; install either" >&2; exit 2; }
  local dir ver t0 t
  dir=$(cache_dir); ver=$(cli_version)
  if [ ! -f "$dir/complete" ]; then
    t0=$(date +%s)
    echo "scripts/pulumi.sh: building the Pulumi CLI $ver and the docker and random plugins from Go modules into $dir (cold: about 10 minutes on 2 cores)" >&2
    mkdir -p "$dir/bin" "$dir/plugins"
    t=$(date +%s)
    gobuild pulumi "$dir/bin/pulumi" -tags "$CLI_TAGS" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$ver" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    echo "scripts/pulumi.sh: CLI built in $(( $(date +%s) - t ))s" >&2
    t=$(date +%s)
    gobuild docker "$dir/plugins/pulumi-resource-docker" -tags "$DOCKER_TAGS" ./cmd/pulumi-resource-docker
    echo "scripts/pulumi.sh: docker plugin built in $(( $(date +%s) - t ))s" >&2
    t=$(date +%s)
    gobuild random "$dir/plugins/pulumi-resource-random" ./cmd/pulumi-resource-random
    echo "scripts/pulumi.sh: random plugin built in $(( $(date +%s) - t ))s" >&2
    # The plugins go into the toolchain's own PULUMI_HOME, under the versions the npm SDKs ask for.
    for p in docker random; do
      PULUMI_HOME="$dir/home" PULUMI_SKIP_UPDATE_CHECK=true "$dir/bin/pulumi" plugin install resource "$p" "$(plugin_version "$p")" \
        --file "$dir/plugins/pulumi-resource-$p" >/dev/null
    done
    touch "$dir/complete"
    echo "scripts/pulumi.sh: toolchain built in $(( $(date +%s) - t0 ))s" >&2
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

schema() {
  local p tags
  for p in docker random; do
    tags=""; [ "$p" = docker ] && tags="-tags $DOCKER_TAGS"
    # shellcheck disable=SC2086
    (cd "$TOOLS/$p" && go run $tags ./cmd/pulumi-tfgen-$p schema --out cmd/pulumi-resource-$p)
  done
}

case "${1:-path}" in
  path) cli ;;
  build) build ;;
  schema) schema ;;
  env)
    bin=$(cli)
    case "$bin" in "$(cache_dir)"/*)
      # The dynamic-provider plugin goes beside the CLI, where the engine looks for the plugins it bundles.
      cp -f "$TOOLS/pulumi/pulumi-resource-pulumi-nodejs" "$(dirname "$bin")/"
      echo "export PULUMI_HOME=\"$(cache_dir)/home\""
      # The toolchain built here cannot download plugins (no network but the package registries): say so up
      # front instead of a download error. A CLI installed the usual way keeps its default.
      echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true" ;;
    esac
    echo "export PATH=\"$(dirname "$bin"):\$PATH\""
    echo "export PDC_PULUMI=\"$bin\""
    echo "export PULUMI_SKIP_UPDATE_CHECK=true"
    ;;
  *) echo "usage: bash scripts/pulumi.sh [path|env|build|schema]" >&2; exit 2 ;;
esac
