"""Gunicorn settings every service's web process uses (`gunicorn -c python:clinic_shared.gunicorn_conf`).

Logs become JSON lines, gunicorn's own included; each request is logged by the app itself (with its
request id), so gunicorn's plain-text access log stays off. `--name <service>` names the service.

Worker processes and threads per process are settings, `CLINIC_WEB_WORKERS` (default: the cores this
process may run on) and `CLINIC_WEB_THREADS` (default 4); `--workers`/`--threads` on the command line win.
"""
from __future__ import annotations

import logging
import os
from typing import Mapping

from clinic_shared.logs import configure_logging

DEFAULT_THREADS = 4


def usable_cores() -> int:
    """The cores this process may run on (a container's cpuset included), at least one."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def count_setting(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


workers = count_setting(os.environ, "CLINIC_WEB_WORKERS", usable_cores())
threads = count_setting(os.environ, "CLINIC_WEB_THREADS", DEFAULT_THREADS)
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
