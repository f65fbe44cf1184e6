#!/bin/sh
# `agent ...` (or bare flags) runs the Consul agent with the image's data and config folders; the interface
# variables become go-sockaddr templates that Consul resolves itself, so the image needs no network tools.
# A first argument that is a program in the image runs as it is; anything else is a consul subcommand.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then set -- agent "$@"; fi
if [ "$1" = agent ]; then
    shift
    if [ -n "${CONSUL_CLIENT_INTERFACE:-}" ]; then set -- "-client={{ GetInterfaceIP \"$CONSUL_CLIENT_INTERFACE\" }}" "$@"; fi
    if [ -n "${CONSUL_BIND_INTERFACE:-}" ]; then set -- "-bind={{ GetInterfaceIP \"$CONSUL_BIND_INTERFACE\" }}" "$@"; fi
    set -- consul agent -data-dir=/consul/data -config-dir=/consul/config "$@"
elif ! command -v "$1" >/dev/null 2>&1; then
    set -- consul "$@"
fi
exec "$@"
