"""Database engines and sessions that behave the same on SQLite and PostgreSQL.

- Date-times are stored in UTC and always come back timezone-aware (`UTCDateTime`); PostgreSQL sessions speak
  UTC (`utc_session`).
- On SQLite every transaction starts with `BEGIN IMMEDIATE`: the write lock is taken before any
  check-then-insert, so two processes cannot both pass an overlap check (ARCHITECTURE.md).
- On PostgreSQL a refused connection is tried again for a few seconds (a restart, a failover, a dropped
  network path), and every COMMIT is counted per thread, so a caller can tell whether a failed unit of
  work may have changed anything (`commits_attempted`); a COMMIT whose connection was lost is settled by
  asking the server whether it landed (`commit_outcome`).
- Engines hide SQL parameters (`hide_parameters=True`): an error message or a log line names the statement,
  never the names, e-mails or answers bound to it.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from . import request_transaction
from .commit_outcome import ask_about_lost_commits, commits_attempted, count_commit  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

CONNECT_PATIENCE_SECONDS = 5.0  # how long a refused connection is tried again before the caller hears of it


class UTCDateTime(TypeDecorator):
    """An aware datetime in, an aware UTC datetime out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def make_engine(url: str, ping_on_checkout: bool = True) -> Engine:
    """`ping_on_checkout` (PostgreSQL): test each pooled connection with a round trip before handing it out, so
    that a request never meets one the database dropped (a restart). A worker can do without: whatever
    fails there for the database is tried again (the inbox waits an outage out, the relay and the periodic
    jobs run again), and the first failure makes the pool drop every connection of the same age, so the ping
    would only cost each transaction a round trip (itself a transaction on the server)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=ping_on_checkout, pool_size=5, max_overflow=5, hide_parameters=True,
                               connect_args=utc_session(parsed.query.get("options")))
        event.listen(engine, "do_connect", _patient_connect)
        event.listen(engine, "commit", count_commit)
        ask_about_lost_commits(engine, lambda: _patient_connect(
            engine.dialect, None, *engine.dialect.create_connect_args(engine.url)))
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below drive transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "commit", count_commit)
    return engine


def utc_session(options: str | None = None) -> dict:
    """PostgreSQL sessions in UTC, whatever the server's default (the URL's own `options` kept): psycopg
    then gives each timestamp the tzinfo UTCDateTime wants, instead of the server's zone (often Etc/UTC, a
    ZoneInfo) for UTCDateTime to convert every value from: a month of availability reads hundreds."""
    return {"options": f"{options or ''} -c TimeZone=UTC".strip()}


def _patient_connect(dialect, _record, cargs, cparams):
    """Connect, trying a refused connection again with growing pauses for CONNECT_PATIENCE_SECONDS."""
    deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
    pause = 0.1
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("database refused a connection, trying again in %.1f s: %s", pause, exc)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def dialect_insert(dialect_name: str, table):
    """The dialect's INSERT of `table`, which can say what to do ON CONFLICT (PostgreSQL's and SQLite's alike)."""
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. In a request whose token check began it
    (`request_transaction`), the transaction the check read in is continued instead of a new one begun."""
    session = request_transaction.take(session_factory)
    if session is None:
        with session_factory() as session:
            with session.begin():
                yield session
        return
    with session:  # closed at the end; rolled back there if the commit failed
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


@contextmanager
def reads(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads that need no transaction around them: on PostgreSQL each statement runs on its own
    (autocommit), which spares a BEGIN and a ROLLBACK round trip; under READ COMMITTED each statement had its own
    snapshot anyway. SQLite's keep their BEGIN IMMEDIATE (see above)."""
    with session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
