"""Gunicorn settings every service's web process uses (`gunicorn -c python:clinic_shared.gunicorn_conf`).

Logs become JSON lines, gunicorn's own included; each request is logged by the app itself (with its
request id), so gunicorn's plain-text access log stays off. `--name <service>` names the service.
"""
from __future__ import annotations

import logging

from clinic_shared.logs import configure_logging

accesslog = None
graceful_timeout = 20
# An idle kept-alive connection is closed after this long. gunicorn's 2 s meant clients (and the gateway's
# pool) often sent a request on a connection the server was closing that instant: a POST then has no answer
# and cannot be retried safely. Longer than any client's pause between requests makes that race rare.
keepalive = 75


def _json_logs(server) -> None:
    configure_logging(server.cfg.proc_name or "web")
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def on_starting(server) -> None:
    _json_logs(server)


def post_fork(server, worker) -> None:
    _json_logs(server)
