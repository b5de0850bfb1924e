"""Gunicorn settings every service's web process uses (`gunicorn -c python:clinic_shared.gunicorn_conf`).

Logs become JSON lines, gunicorn's own included; each request is logged by the app itself (with its
request id), so gunicorn's plain-text access log stays off. `--name <service>` names the service.
"""
from __future__ import annotations

import logging

from clinic_shared.logs import configure_logging

accesslog = None
graceful_timeout = 20


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
