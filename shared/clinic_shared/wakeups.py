"""Wake-ups across processes: a transaction says "there is work" and a worker that waits for it acts at once.

On PostgreSQL this is NOTIFY, which the server delivers when the transaction commits (never for a rollback),
and LISTEN on a connection of its own in the waiting process. SQLite has nothing like it: there `notify`
does nothing and `Listener.wait` just sleeps its timeout, so the waiter polls as before. A wake-up is a
hint only: the waiter still looks every `timeout` seconds, so a lost one (the listening connection was
down) delays work by that interval and never loses it.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, literal, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

SLICE_SECONDS = 1.0  # a wait is cut in slices this long, so that a stop is seen soon even with a long timeout
RECONNECT_SECONDS = 5.0  # after a lost or refused listening connection, poll this long before trying again


def notify(session: Session, channel: str) -> None:
    """Wake whoever listens on `channel` once the session's transaction commits (PostgreSQL only).

    Once per transaction (or savepoint) and channel: PostgreSQL delivers identical notifications of one
    transaction once anyway, and a batch of events, each making work, would otherwise send one statement each."""
    if session.get_bind().dialect.name != "postgresql":
        return
    notified = session.info.get(_NOTIFIED)
    if notified is not None and notified[0] is _current(session) and channel in notified[1]:
        return
    session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    transaction = _current(session)  # now begun, if the session was to autobegin it
    if notified is None or notified[0] is not transaction:  # a new transaction: forget the old one's
        notified = session.info[_NOTIFIED] = (transaction, set())
    notified[1].add(channel)


def _current(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


_NOTIFIED = "clinic_shared.wakeups.notified"  # session.info: (the transaction, the channels it notified)


def notifying(statement, channel: str):
    """`statement` (an INSERT or UPDATE, for PostgreSQL) that also notifies `channel` as `notify` does, through
    its RETURNING clause: one statement instead of two. A statement that touches no row notifies nobody."""
    return statement.returning(func.pg_notify(literal(channel), literal("")))


class Listener:
    """LISTENs on one channel of the engine's database; `wait` returns early when it is notified."""

    def __init__(self, engine: Engine, channel: str, stop: threading.Event | None = None):
        self._url = engine.url
        self._channel = channel
        self._stop = stop or threading.Event()
        self._connection = None
        self._connect_after = 0.0
        self.woken = 0  # how many waits a notification ended (what the tests look at)

    @property
    def active(self) -> bool:
        return self._url.get_backend_name() == "postgresql"

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True as soon as a notification arrived (or had arrived meanwhile)."""
        if not self.active or not self._listening():
            self._stop.wait(timeout)
            return False
        remaining = timeout
        try:
            while remaining > 0 and not self._stop.is_set():
                step = min(SLICE_SECONDS, remaining)
                if any(True for _ in self._connection.notifies(timeout=step, stop_after=1)):
                    for _ in self._connection.notifies(timeout=0.001):
                        pass  # others that came together: one look covers them all
                    self.woken += 1
                    return True
                remaining -= step
        except Exception as exc:  # the database went away: poll until it is back
            log.warning("listening on %s failed, polling meanwhile: %s", self._channel, exc)
            self.close()
        return False

    def _listening(self) -> bool:
        if self._connection is not None:
            return True
        if time.monotonic() < self._connect_after:
            return False
        import psycopg  # the PostgreSQL driver; imported here so that SQLite-only installs do without it

        try:
            url = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._connection = psycopg.connect(url, autocommit=True, connect_timeout=5)
            self._connection.execute(f'LISTEN "{self._channel}"')
        except Exception as exc:
            log.warning("cannot listen on %s, polling meanwhile: %s", self._channel, exc)
            self.close()
            return False
        return True

    def close(self) -> None:
        self._connect_after = time.monotonic() + RECONNECT_SECONDS
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._connection = None
