"""A request whose database went away before it committed anything is run again, briefly.

A dropped connection (the database restarted, a network path was cut, a pooled connection went stale
mid-query) fails the request's unit of work. If no COMMIT was started during the attempt, nothing was
changed, so running the view again is as safe as the client's own retry would be, and the client gets
its answer instead of a 503. A failure during or after a COMMIT is not repeated: whether it landed is
unknown, so the client hears 503 and decides (with an Idempotency-Key, a retry is safe).
"""
from __future__ import annotations

import logging
import time

from flask import Flask, request

from .db import commits_attempted
from .failures import is_database_outage

log = logging.getLogger(__name__)

PATIENCE_SECONDS = 5.0  # on top of the connection's own patience (db.CONNECT_PATIENCE_SECONDS)


def install_database_retry(app: Flask, patience: float = PATIENCE_SECONDS) -> None:
    dispatch = app.dispatch_request

    def dispatch_request():
        deadline = time.monotonic() + patience
        pause = 0.2
        while True:
            before = commits_attempted()
            try:
                return dispatch()
            except Exception as exc:
                if (not is_database_outage(exc) or commits_attempted() != before
                        or time.monotonic() + pause > deadline):
                    raise
                log.warning("%s %s: the database went away before anything was committed; running it again: %s",
                            request.method, request.path, exc)
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    app.dispatch_request = dispatch_request
