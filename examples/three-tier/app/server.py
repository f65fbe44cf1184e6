"""The app tier of the three-tier example: a tiny JSON server (Python stdlib + psycopg2).

It sits on both networks: the web tier (nginx) reaches it on $PORT, and it reaches the db tier
through DATABASE_URL. The table `greeting` comes from ../migrations, never from this code.

Environment:
  DATABASE_URL    postgresql://<approle>:<password>@<host>:5432/<db>   (required, or:)
  DATABASE_URL_FILE  a file holding it (the pool's databaseUrlAs "file", as on swarm)
  PORT            listen port, default 8000
  APP_CONFIG_DIR  may hold app.json; its "name" is echoed as "app"      default /etc/app
  CONTENT_DIR     accepted for the common contract, unused here          default /srv/content
  INSTANCE        this replica's name (default: the host name)

Endpoints:
  GET /         {"instance": ..., "greeting": <from Postgres>, "app": ..., "db_time": ...}
  GET /healthz  200 {"status":"ok"} when the database answers SELECT 1, else 503
"""

import json
import logging
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
log = logging.getLogger("app")



def database_url():
    """DATABASE_URL, or the contents of the file DATABASE_URL_FILE names (a secret file: the swarm target)."""
    path = os.environ.get("DATABASE_URL_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return os.environ.get("DATABASE_URL")


DATABASE_URL = database_url()
PORT = int(os.environ.get("PORT", "8000"))
APP_CONFIG_DIR = os.environ.get("APP_CONFIG_DIR", "/etc/app")
INSTANCE = os.environ.get("INSTANCE") or socket.gethostname()
CONNECT_TIMEOUT = 3  # seconds; keeps /healthz from hanging when the db host does not answer


def query_one(sql):
    """Runs one read-only statement on a fresh connection and returns the first row (or None).

    A connection per request keeps the example simple and recovers by itself when the
    database restarts; a real service would use a pool.
    """
    conn = psycopg2.connect(DATABASE_URL, connect_timeout=CONNECT_TIMEOUT, application_name="three-tier-" + INSTANCE)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    finally:
        conn.close()


def app_name():
    try:
        with open(os.path.join(APP_CONFIG_DIR, "app.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        return str(cfg.get("name", "three-tier")) if isinstance(cfg, dict) else "three-tier"
    except (OSError, ValueError):
        return "three-tier"


class Handler(BaseHTTPRequestHandler):
    server_version = "three-tier-app"
    protocol_version = "HTTP/1.1"

    def _send(self, status, body):
        data = (json.dumps(body) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Instance", INSTANCE)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            try:
                query_one("SELECT 1")
            except psycopg2.Error as e:
                log.warning("healthz: %s", str(e).strip())
                return self._send(503, {"status": "unavailable", "instance": INSTANCE})
            return self._send(200, {"status": "ok", "instance": INSTANCE})
        if path == "/":
            try:
                row = query_one("SELECT (SELECT greeting FROM greeting ORDER BY id LIMIT 1), now()")
            except psycopg2.Error as e:
                log.error("query failed: %s", str(e).strip())
                return self._send(503, {"error": "database unavailable", "instance": INSTANCE})
            return self._send(200, {
                "instance": INSTANCE,
                "app": app_name(),
                "greeting": row[0],
                "db_time": row[1].isoformat(),
            })
        return self._send(404, {"error": "not found"})

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)


def main():
    if not DATABASE_URL:
        sys.exit("DATABASE_URL (or DATABASE_URL_FILE) is not set (postgresql://user:password@host:5432/dbname)")
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True

    # As PID 1 in a container, SIGTERM has no default action: handle it so `docker stop` is quick.
    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    log.info("instance %s listening on 0.0.0.0:%d", INSTANCE, PORT)
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.server_close()
        log.info("stopped")


if __name__ == "__main__":
    main()
