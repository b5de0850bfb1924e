"""A request whose database went away before it committed anything is run again, briefly.

A dropped connection (the database restarted, a network path was cut, a pooled connection went stale
mid-query) fails the request's unit of work. If nothing was committed during the attempt, running the view
again is as safe as the client's own retry would be, and the client gets its answer instead of a 503.

A COMMIT cut off by the outage is settled before this decides (`commit_outcome` asks PostgreSQL): one that
landed is no failure at all (the view carries on and answers as usual); one the server rolled back, or
that never reached it, changed nothing, so the request is run again. Only when the database does not say
within its patience, or a failure comes after an earlier COMMIT of the same request had landed, is the
request not repeated and the client told 503 (with an Idempotency-Key, its own retry is safe).
"""
from __future__ import annotations

import logging
import time

from flask import Flask, request

from .commit_outcome import commits_attempted
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
                log.warning("%s %s: the database went away and nothing was committed; running it again: %s",
                            request.method, request.path, exc)
                time.sleep(pause)
                pause = min(pause * 2, 1.0)

    app.dispatch_request = dispatch_request
