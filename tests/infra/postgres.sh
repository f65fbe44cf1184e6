#!/usr/bin/env bash
# Starts/stops a throwaway Postgres cluster of the tests' own: its own data dir, 127.0.0.1, its own port.
# Usage: tests/infra/postgres.sh start|stop|status|env
set -euo pipefail
PORT=${PDC_PG_PORT:-55432}
DIR=${PDC_PG_DIR:-/tmp/pdc-pg}
PASSWORD=${PDC_PG_PASSWORD:-pdc-admin-pw}
# `|| true`: with no server installed, `start` says so instead of set -e exiting silently here.
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
start)
  [ -n "$BIN" ] || { echo "postgres.sh: no Postgres server installed (apt-get install -y postgresql)" >&2; exit 1; }
  if [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then exit 0; fi
  rm -rf "$DIR"; mkdir -p "$DIR"; chown postgres "$DIR" 2>/dev/null || true
  printf '%s\n' "$PASSWORD" > "$DIR/pw"; chown postgres "$DIR/pw" 2>/dev/null || true
  as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth-host=scram-sha-256 --auth-local=trust --pwfile="$DIR/pw" -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log"
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200 -c fsync=off" start >/dev/null
  ;;
stop)
  [ -d "$DIR/data" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
status)
  if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then echo "running"; else echo "not running"; exit 1; fi
  ;;
env)
  echo "export PDC_PG_HOST=127.0.0.1 PDC_PG_PORT=$PORT PDC_PG_USER=postgres PDC_PG_PASSWORD=$PASSWORD PDC_PG_DIR=$DIR PDC_PG_BIN=$BIN"
  ;;
*) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
