"""The comments app: Flask + peewee on Postgres, served by gunicorn.

The table `comment` is created by the bootstrap's migrations (../migrations), never here:
the app connects as the application role, which may only read and insert comments.

Environment:
  DATABASE_URL    postgresql://<approle>:<password>@<host>:5432/<db>   (required)
  PORT            listen port for gunicorn (see gunicorn.conf.py), default 8000
  APP_CONFIG_DIR  shared read-only config, may hold app.json            default /etc/app
  CONTENT_DIR     shared content, may hold locale/<lang>.json            default /srv/content
  INSTANCE        this replica's name, shown on the page and in X-Instance
"""

import json
import logging
import os
import socket

from flask import Flask, jsonify, redirect, render_template, request
from peewee import AutoField, DateTimeField, Model, PeeweeException, TextField
from playhouse.db_url import connect

log = logging.getLogger("comments")

DATABASE_URL = os.environ.get("DATABASE_URL")
if not DATABASE_URL:
    raise RuntimeError("DATABASE_URL is not set (postgresql://user:password@host:5432/dbname)")

APP_CONFIG_DIR = os.environ.get("APP_CONFIG_DIR", "/etc/app")
CONTENT_DIR = os.environ.get("CONTENT_DIR", "/srv/content")
INSTANCE = os.environ.get("INSTANCE") or socket.gethostname()
MAX_TEXT = 2000  # the same limit as the CHECK constraint in V1__create_comment.sql

# connect_timeout keeps /healthz from hanging when the database host does not answer.
db = connect(DATABASE_URL, unquote_password=True, connect_timeout=3)


class Comment(Model):
    id = AutoField()
    text = TextField()
    created_at = DateTimeField()  # filled by the column default, now()

    class Meta:
        database = db
        table_name = "comment"


# ---- config and locale files (written into the shared volumes by the orchestrator) ----

DEFAULT_STRINGS = {
    "title": "Comments",
    "heading": "Write something!",
    "placeholder": "Your comment",
    "submit": "Post",
    "empty": "No comments yet.",
    "served_by": "served by",
}

_file_cache = {}


def _read_json(path):
    """Returns the JSON object in `path`, re-read only when the file changes; {} if absent or invalid."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return {}
    cached = _file_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        log.warning("ignoring %s: %s", path, e)
        data = {}
    _file_cache[path] = (mtime, data)
    return data


def app_config():
    return _read_json(os.path.join(APP_CONFIG_DIR, "app.json"))


def strings():
    """UI strings: built-in English, overridden by $CONTENT_DIR/locale/<locale>.json (locale from app.json)."""
    locale = str(app_config().get("locale", "en"))
    if not locale.replace("-", "").replace("_", "").isalnum():
        locale = "en"
    s = dict(DEFAULT_STRINGS)
    s.update({k: str(v) for k, v in _read_json(os.path.join(CONTENT_DIR, "locale", locale + ".json")).items()})
    if "title" in app_config():
        s["title"] = str(app_config()["title"])
    return s


def page_size():
    try:
        return max(1, min(500, int(app_config().get("page_size", 100))))
    except (TypeError, ValueError):
        return 100


# ---- the app ----

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 64 * 1024


@app.before_request
def _open_db():
    if request.endpoint not in ("healthz", "static"):
        db.connect(reuse_if_open=True)


@app.teardown_request
def _close_db(exc):
    if not db.is_closed():
        db.close()


@app.after_request
def _tag_instance(response):
    response.headers["X-Instance"] = INSTANCE
    return response


@app.errorhandler(PeeweeException)
def _db_error(e):
    log.error("database error: %s", e)
    if request.path.startswith("/api/") or request.is_json:
        return jsonify(error="database unavailable"), 503
    return "Database unavailable, try again later.\n", 503, {"Content-Type": "text/plain; charset=utf-8"}


def _serialize(c):
    return {"id": c.id, "text": c.text, "created_at": c.created_at.isoformat()}


def _recent():
    return list(Comment.select().order_by(Comment.created_at.desc(), Comment.id.desc()).limit(page_size()))


@app.get("/")
def index():
    return render_template("index.html", comments=_recent(), s=strings(), instance=INSTANCE)


@app.get("/api/comments")
def api_comments():
    return jsonify([_serialize(c) for c in _recent()])


@app.post("/comments")
def create_comment():
    wants_json = request.is_json
    if wants_json:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
    else:
        text = request.form.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text or len(text) > MAX_TEXT:
        msg = "text is required (1-%d characters)" % MAX_TEXT
        if wants_json:
            return jsonify(error=msg), 400
        return msg + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    row = Comment.insert(text=text).returning(Comment.id, Comment.text, Comment.created_at).objects(Comment).execute()
    created = list(row)[0]
    if wants_json:
        return jsonify(_serialize(created)), 201, {"Location": "/api/comments"}
    return redirect("/", code=303)


@app.get("/healthz")
def healthz():
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT 1").fetchone()
    except Exception as e:  # any failure to reach the database means unhealthy
        log.warning("healthz: %s", e)
        return jsonify(status="unavailable", instance=INSTANCE), 503
    return jsonify(status="ok", instance=INSTANCE)


if __name__ == "__main__":  # local runs only; the image uses gunicorn
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
