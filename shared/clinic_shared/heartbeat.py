"""Is the service's worker alive? It says so every few seconds in the service's own database.

The web process and the worker of a service share its database, so the web process's `/health`
can report a worker that died or hangs: without it, events would quietly stop being relayed and
consumed while every HTTP check still said "ok".
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Column, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .db import UTCDateTime, utcnow

BEAT_INTERVAL_SECONDS = 2.0


def heartbeat_table(metadata: MetaData) -> Table:
    return Table(
        "worker_heartbeat", metadata,
        Column("name", String(50), primary_key=True),
        Column("beat_at", UTCDateTime(), nullable=False),
    )


class Heartbeat:
    def __init__(self, session_factory: sessionmaker[Session], table: Table, name: str = "worker"):
        self._sessions = session_factory
        self._table = table
        self._name = name

    def beat(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        with self._sessions() as session, session.begin():
            changed = session.execute(update(self._table).where(self._table.c.name == self._name)
                                      .values(beat_at=now)).rowcount
            if not changed:
                try:
                    with session.begin_nested():
                        session.execute(self._table.insert().values(name=self._name, beat_at=now))
                except IntegrityError:
                    pass  # another worker of this service beat first: it is alive, which is all we say

    def alive(self, max_age: timedelta, now: datetime | None = None) -> bool:
        with self._sessions() as session:
            beat_at = session.scalar(select(self._table.c.beat_at).where(self._table.c.name == self._name))
        return beat_at is not None and (now or utcnow()) - beat_at <= max_age


def worker_check(session_factory: sessionmaker[Session], table: Table, timeout_seconds: float):
    """A `/health` check: True while the worker beat within the timeout."""
    heartbeat = Heartbeat(session_factory, table)

    def check() -> bool:
        try:
            return heartbeat.alive(timedelta(seconds=timeout_seconds))
        except Exception:
            return False  # the database is down: its own check says so; the worker is unknown

    return check
