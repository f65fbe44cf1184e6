/**
 * The database container's entrypoint wrapper that makes the admin password (POSTGRES_PASSWORD_FILE, or
 * POSTGRES_PASSWORD) the admin's password on every start.
 *
 * Why: the Postgres image reads POSTGRES_PASSWORD only when it initialises an empty data directory. The data
 * volume outlives the stack (`pulumi destroy` retains it, so the next `up` finds the data), but a generated admin
 * password does not: the next stack generates a new one, which the old data directory does not know, and the
 * bootstrap cannot log in. So before the server starts on an existing data directory, the wrapper sets the
 * password in single-user mode (no network, no other session: nothing can log in with the old one meanwhile and
 * there is no race with the bootstrap's first login), then hands over to the image's own entrypoint. Neither the
 * statement nor the password reaches the container's log.
 */
export const ADMIN_PASSWORD_SCRIPT_PATH = "/usr/local/bin/pdc-postgres-entrypoint.sh";

/**
 * Where the admin password is uploaded (POSTGRES_PASSWORD_FILE): a file, not an environment variable, so the
 * Docker API (`docker inspect`, anything holding the socket) never shows it. The wrapper hands it to postgres.
 */
export const ADMIN_PASSWORD_FILE = "/etc/pdc-postgres-admin-password";

export const ADMIN_PASSWORD_SCRIPT = `#!/bin/bash
# Written by pulumi-docker-cluster's PostgresCluster (sdk/postgres/adminPassword.ts): sets the admin password from
# POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) on an existing data directory, then runs the image's entrypoint.
set -euo pipefail
password="\${POSTGRES_PASSWORD:-}"
if [ -z "$password" ] && [ -n "\${POSTGRES_PASSWORD_FILE:-}" ] && [ -r "$POSTGRES_PASSWORD_FILE" ]; then
  # uploaded as root with mode 0600: the image's entrypoint reads it again as postgres
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$POSTGRES_PASSWORD_FILE"
  password="$(<"$POSTGRES_PASSWORD_FILE")"
fi
if [ -s "\${PGDATA:-/var/lib/postgresql/data}/PG_VERSION" ] && [ -n "$password" ]; then
  data="\${PGDATA:-/var/lib/postgresql/data}"
  user="\${POSTGRES_USER:-postgres}"
  as_postgres=()
  [ "$(id -u)" = 0 ] && as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups)
  ident="\\"\${user//\\"/\\"\\"}\\""
  literal="'\${password//\\'/\\'\\'}'"
  if ! printf 'ALTER ROLE %s PASSWORD %s;\\n' "$ident" "$literal" |
      "\${as_postgres[@]}" postgres --single -D "$data" -c log_statement=none -c log_min_error_statement=panic postgres >/dev/null 2>&1; then
    echo "pulumi-docker-cluster: could not set the password of role $user from the admin password on the existing data directory" >&2
  fi
fi
exec docker-entrypoint.sh "$@"
`;
