# gunicorn settings, read from the environment the orchestrator gives every app container.
import os

bind = "0.0.0.0:%s" % os.environ.get("PORT", "8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# Containers have no writable /tmp guarantee for heartbeat files; /dev/shm is tmpfs.
worker_tmp_dir = "/dev/shm"
