"""A client's erasure (API.md "A client's data") as every service keeps it.

The screening service owns the erasure record and publishes `client.erasure_requested`; every service that
holds something of the client erases it in the handler of that event and reports `client.erased`. Each
service also keeps the ids of the clients it has erased (`erased_clients`), for two reasons:
- a client token is checked locally in every service (clinic_shared.auth): `ErasedClients` is the revocation
  list each service consults, so an erased client's tokens answer 401 wherever they are shown;
- events about the client that arrive after the erasure (late, redelivered, from another producer) must not
  bring their name or e-mail back: handlers ask `is_erased` first (or write on condition of `not_erased`) and
  drop them.
"""
from __future__ import annotations

import functools
import threading
import time
from datetime import datetime
from typing import Callable

from sqlalchemy import Column, ColumnElement, MetaData, String, Table, bindparam, delete, exists, select, text
from sqlalchemy.orm import Session, sessionmaker

from . import request_transaction
from .db import UTCDateTime

# Events whose data carries a client's contact (name, e-mail, phone): the ones an erasure removes from an outbox.
CONTACT_EVENT_TYPES = ("screening.completed", "screening.cleared", "booking.confirmed", "booking.cancelled",
                       "booking.rescheduled", "booking.completed", "waitlist.offered", "client.sign_in_requested")
ERASED_CLIENT_ID = "erased"  # what a kept record (a past booking) names as its client once the client is erased


def erased_clients_table(metadata: MetaData) -> Table:
    return Table(
        "erased_clients", metadata,
        Column("client_id", String(64), primary_key=True),
        Column("erased_at", UTCDateTime(), nullable=False),
    )


def guard_client(session: Session, client_id: str) -> None:
    """Serialise an erasure with anything else that writes the client's data in this database.

    On PostgreSQL a transaction-scoped advisory lock on the client (released at commit); SQLite's
    BEGIN IMMEDIATE serialises every write already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_CLIENT_LOCK, {"key": f"client-erasure:{client_id}"})


# Built once: every event that touches a client's data takes this lock, and a statement built per call (and its
# cache key) cost about three times what sending it does.
_CLIENT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def is_erased(session: Session, table: Table, client_id: str) -> bool:
    return session.execute(_erased_query(table), {"client_id": client_id}).first() is not None


@functools.lru_cache(maxsize=None)
def _erased_query(table: Table):
    """Built once per table, with a bind parameter: the revocation check runs it on every client request, and
    building it each time (and its cache key) cost as much as executing it."""
    return select(table.c.client_id).where(table.c.client_id == bindparam("client_id"))


def not_erased(table: Table, client_id) -> ColumnElement[bool]:
    """`is_erased` as a condition of the statement that writes the client's data (an INSERT … SELECT … WHERE):
    one statement instead of a read and a write. Taken after `guard_client`, it is read as that statement
    starts, so an erasure either committed before, and is seen, or waits for the lock."""
    return ~exists().where(table.c.client_id == client_id)


def mark_erased(session: Session, table: Table, client_id: str, at: datetime) -> bool:
    """Record the client as erased here; False when it was already (an event that came again)."""
    if is_erased(session, table, client_id):
        return False
    session.execute(table.insert().values(client_id=client_id, erased_at=at))
    return True


def forget_client_events(session: Session, outbox: Table, client_id: str) -> int:
    """Delete the outbox rows (published or not) whose event carries the client's contact.

    An unpublished one is dropped too: its news is about a client who no longer exists anywhere, and its
    consumers would drop it anyway (`is_erased`). Audit events name resources by id and stay."""
    marker = f'"client_id": "{client_id}"'  # as json.dumps writes it in the envelope's body
    return session.execute(delete(outbox).where(
        outbox.c.type.in_(CONTACT_EVENT_TYPES), outbox.c.body.contains(marker, autoescape=True))).rowcount


class ErasedClients:
    """The revocation check of client tokens (TokenAuthority's `revoked`): is this client erased here?

    Asked on every request with a client token. "Erased" is kept for good (an erasure is final); "not erased"
    only for `recheck_seconds`, 0 by default: API.md wants an erased client's tokens refused from the moment
    the erasure is done, so the services ask every time. A deployment may trade a second of that for one read
    less per request. Stale "not erased" answers are dropped, so memory follows the clients recently seen.
    """

    def __init__(self, session_factory: sessionmaker[Session], table: Table, recheck_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self._sessions = session_factory
        self._table = table
        self._recheck = recheck_seconds
        self._clock = clock
        self._erased: set[str] = set()
        self._cleared: dict[str, float] = {}  # client id -> when it was last found not erased
        self._lock = threading.Lock()

    def __call__(self, client_id: str) -> bool:
        now = self._clock()
        with self._lock:
            if client_id in self._erased:
                return True
            checked = self._cleared.get(client_id)
            if checked is not None and now - checked < self._recheck:  # never with the default of 0
                return False
        with request_transaction.reading(self._sessions) as session:  # the request's own, where it shares one
            erased = is_erased(session, self._table, client_id)
        with self._lock:
            if erased:
                self._erased.add(client_id)
                self._cleared.pop(client_id, None)
            else:
                if len(self._cleared) >= 1000:
                    self._cleared = {k: t for k, t in self._cleared.items() if now - t < self._recheck}
                self._cleared[client_id] = now
        return erased
