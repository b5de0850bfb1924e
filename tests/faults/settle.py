"""After the faults: wait until nothing is left to do, then read the bookings' final state."""
from __future__ import annotations

import time

from sqlalchemy import text

from .checker import FinalBooking
from .cluster import Cluster

IGNORED = (".dlq",)  # dead letters wait for a person: reported, not waited for


def wait_until_quiet(cluster: Cluster, seconds: float, steady: int = 4) -> tuple[bool, dict]:
    """Poll until outboxes, due messages and queues are empty and no mail arrived for `steady` polls in a row."""
    engines = {s: cluster.engine(s) for s in ("screening", "booking", "notifications")}
    deadline = time.monotonic() + seconds
    quiet, last_mail, backlog = 0, -1, {}
    try:
        while time.monotonic() < deadline:
            try:
                backlog = cluster.backlog(engines)
            except Exception as exc:  # a backend still coming back: try again
                backlog = {"error": f"{type(exc).__name__}: {exc}"}
                quiet = 0
                time.sleep(1)
                continue
            busy = any(n for name, n in backlog.items() if not name.endswith(IGNORED))
            mail = len(cluster.mailbox.messages)
            quiet = 0 if busy or mail != last_mail else quiet + 1
            last_mail = mail
            if quiet >= steady:
                return True, backlog
            time.sleep(1)
        return False, backlog
    finally:
        for engine in engines.values():
            engine.dispose()


def final_bookings(cluster: Cluster) -> list[FinalBooking]:
    engine = cluster.engine("booking")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, reference, status, start_at FROM bookings")).all()
    finally:
        engine.dispose()
    return [FinalBooking(row.id, row.reference, row.status, row.start_at) for row in rows]
