"""Transactional outbox: an event is a row written in the same transaction as the change it reports.

`add_event` writes the row and, on PostgreSQL, a NOTIFY on `OUTBOX_CHANNEL` that wakes the relay when the
transaction commits (clinic_shared.wakeups; the relay still polls as a fallback, and on SQLite). The
relay (run by each service's worker) claims a batch of unpublished rows and marks them published in one
statement, publishes them in order with publisher confirms, unmarks the rows it could not publish, and
commits. A crash before that commit rolls the marks back, so a row is published twice at worst, which the
consumers' inbox absorbs; it is never lost.

The rows of a batch stay locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL: two relays never take one
row) while they are published, so that transaction is kept short: each publish is bounded in time
(broker.Publisher), a batch stops publishing after `max_batch_seconds`, and the first failure ends
it, committing the rows already confirmed before the error is raised.

Published rows are kept for a while (to look into) and then deleted by the worker (`prune_published`):
they hold the events' data, client contact details included, and are never read again once sent.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from datetime import datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import UTCDateTime, utcnow
from .events import make_envelope
from .wakeups import notifying

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "clinic_outbox"  # each service has its own database, so one name serves them all


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("published_at", UTCDateTime(), nullable=True, index=True),
    )


def add_event(session: Session, outbox: Table, event_type: str, data: dict, producer: str,
              correlation_id: str | None = None) -> dict:
    """Record an event (the newest version of its type) to publish once the surrounding transaction
    commits. Returns the envelope."""
    envelope = make_envelope(event_type, data, producer, correlation_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    session.execute(_insert_event(outbox, postgres), {
        "event_id": envelope["event_id"], "type": event_type, "body": json.dumps(envelope),
        "created_at": utcnow(), "published_at": None,
    })
    return envelope


@functools.lru_cache(maxsize=None)
def _insert_event(outbox: Table, postgres: bool):
    """Built once per table: SQLAlchemy memoises its cache key, so each use finds the compiled form at once."""
    return notifying(outbox.insert(), OUTBOX_CHANNEL) if postgres else outbox.insert()


class OutboxRelay:
    def __init__(self, session_factory: sessionmaker[Session], outbox: Table, publisher, batch_size: int = 100,
                 max_batch_seconds: float = 5.0):
        self._sessions = session_factory
        self._outbox = outbox
        self._publisher = publisher
        self._batch_size = batch_size
        self._max_batch_seconds = max_batch_seconds
        self._unmark = (update(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))
                        .values(published_at=None))

    def relay_once(self) -> int:
        """Publish one batch of unpublished events; return how many were published.

        The batch is claimed and marked published by one statement; the rows that could not be published
        (a failure, or the time was up) are unmarked before the commit. Until then no one else sees the mark,
        and a crash rolls all of it back, so a row is published again at worst, never lost."""
        published = 0
        failure = None
        stop_at = time.monotonic() + self._max_batch_seconds
        with self._sessions() as session, session.begin():
            claim = _claim(self._outbox, session.get_bind().dialect.name)
            rows = sorted(session.execute(claim, {"limit": self._batch_size, "now": utcnow()}), key=lambda row: row.id)
            for row in rows:
                if time.monotonic() >= stop_at:
                    break  # the rest next time: row locks are not held for long
                try:
                    self._publisher.publish_json(row.body, row.type, row.event_id)
                except Exception as exc:
                    failure = exc
                    break  # commit what the broker confirmed; the rest stays unpublished
                published += 1
                log.info("published %s from the outbox (row %s)", row.type, row.id)
            if published < len(rows):
                session.execute(self._unmark, {"ids": [row.id for row in rows[published:]]})
        if failure is not None:
            raise failure
        return published

    def pending(self) -> int:
        with self._sessions() as session:
            return session.scalar(select(func.count()).select_from(self._outbox)
                                  .where(self._outbox.c.published_at.is_(None)))


@functools.lru_cache(maxsize=None)
def _claim(outbox: Table, dialect: str):
    """The oldest unpublished rows, marked published, returned (in no particular order): one statement. On
    PostgreSQL the rows are locked and locked ones skipped, so two relays never take one row; SQLite's
    BEGIN IMMEDIATE serialises relays anyway."""
    oldest = (select(outbox.c.id).where(outbox.c.published_at.is_(None))
              .order_by(outbox.c.id).limit(bindparam("limit")))
    if dialect == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    return (update(outbox).where(outbox.c.id.in_(oldest.scalar_subquery())).values(published_at=bindparam("now"))
            .returning(outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.body))


def prune_published(session_factory: sessionmaker[Session], outbox: Table, published_before: datetime) -> int:
    """Delete the rows published before `published_before`; an unpublished row stays, however old."""
    with session_factory() as session, session.begin():
        return session.execute(delete(outbox).where(outbox.c.published_at < published_before)).rowcount
