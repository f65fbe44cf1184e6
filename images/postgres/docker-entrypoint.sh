#!/usr/bin/env bash
# Entrypoint of pdc/postgres:15 -- a small re-implementation of the official postgres image's
# docker-entrypoint.sh contract on top of Debian's postgresql-15:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS,
#   POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), *_FILE variants,
#   PGDATA (default /var/lib/postgresql/data).
# First start: initdb, then a temporary server that listens ONLY on the unix socket
# (listen_addresses=''), creates the database, runs /docker-entrypoint-initdb.d/*, stops.
# Then exec's postgres (listen_addresses='*' from postgresql.conf) as the postgres user.
set -Eeo pipefail

log() { echo "$(date -u '+%F %T UTC') [entrypoint] $*" >&2; }

# VAR_FILE -> VAR (docker secrets)
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    log "error: both $var and $fileVar are set (but are exclusive)"; exit 1
  fi
  local val="$def"
  if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(<"${!fileVar}")"; fi
  export "$var"="$val"
  unset "$fileVar"
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
  export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
}

create_dirs() {
  local user; user="$(id -u)"
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" 2>/dev/null || :
  mkdir -p /var/run/postgresql || :
  chmod 03775 /var/run/postgresql 2>/dev/null || :
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    [ "$user" = 0 ] && find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if [ "$user" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  fi
}

psql_init() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

process_init_files() {
  local f
  for f in "$@"; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"
        else log "sourcing $f"; . "$f"; fi ;;
      *.sql) log "running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f"; echo ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"; echo ;;
      *.sql.xz) log "running $f"; xzcat "$f" | psql_init --dbname "$POSTGRES_DB"; echo ;;
      *) log "ignoring $f" ;;
    esac
  done
}

init_database() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
       connections without a password. This is *not* recommended.
EOM
    exit 1
  fi
  log "initializing database in $PGDATA (user $POSTGRES_USER, db $POSTGRES_DB)"
  local -a args=(--username="$POSTGRES_USER")
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then args+=(--waldir "$POSTGRES_INITDB_WALDIR"); fi
  if [ -n "$POSTGRES_PASSWORD" ]; then
    # shellcheck disable=SC2086
    initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
  else
    # shellcheck disable=SC2086
    initdb "${args[@]}" $POSTGRES_INITDB_ARGS
  fi

  local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ "$auth" = md5 ]; then
    echo "password_encryption = md5" >>"$PGDATA/postgresql.auto.conf"
  fi
  printf '\n# added by docker-entrypoint.sh\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  [ "$auth" = trust ] && log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: no password needed for host connections"

  # temporary server: unix socket only, so nothing outside sees the half-initialised database
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" \
    -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists="$(psql_init --dbname postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '${POSTGRES_DB//\'/\'\'}'")"
    if [ -z "$exists" ]; then
      psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
    fi
  fi
  shopt -s nullglob
  process_init_files /docker-entrypoint-initdb.d/*
  shopt -u nullglob

  PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  log "PostgreSQL init process complete; ready for start up."
}

if [ "$1" = postgres ]; then
  setup_env
  create_dirs
  if [ "$(id -u)" = 0 ]; then
    # drop privileges and re-run this script as postgres (setpriv is in util-linux, Essential)
    export HOME=/var/lib/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$(readlink -f "${BASH_SOURCE[0]}")" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_database
  else
    log "PostgreSQL database directory appears to contain a database; skipping initialization"
  fi
fi

exec "$@"
