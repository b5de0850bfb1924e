"""What became of a COMMIT whose connection was lost: on PostgreSQL the server is asked, not guessed at.

A connection cut while COMMIT is under way leaves the client not knowing whether it landed: the server may
have committed and lost only its reply. So before each COMMIT the transaction's id is read
(`pg_current_xact_id_if_assigned()`, NULL for a transaction that wrote nothing), and if the COMMIT then fails
for the connection, a new connection asks `pg_xact_status` (again while the server still has it in progress):

- committed: the COMMIT succeeded, only its reply was lost, so the caller carries on as after any commit
  (a request then gives its true answer, not a 503);
- aborted, or nothing written, or the COMMIT was never sent: nothing changed; the failure is raised and the
  COMMIT is not counted (`commits_attempted`), so the request may be run again (`database_retry`);
- not known (the database stays away longer than the patience): raised and counted, as any failed COMMIT was.

Every COMMIT is counted per thread (or task) before it is sent, so a caller can tell whether a failed unit of
work may have changed anything: unchanged across a failure means nothing was committed.
"""
from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Callable

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

PATIENCE_SECONDS = 10.0  # how long the outcome is asked for, a new connection's own patience included
_commits = ContextVar("clinic_commits_attempted", default=0)
WHAT_BECAME_OF_IT = {
    "aborted": "the database rolled it back, nothing changed",
    "empty": "the transaction had written nothing",
    "unknown": "the database did not say whether it landed",
}


def commits_attempted() -> int:
    """COMMITs this thread has started that may have changed something (all of them, but those known to
    have changed nothing): unchanged across a failure means nothing was committed."""
    return _commits.get()


def count_commit(_connection=None) -> None:
    _commits.set(_commits.get() + 1)  # before the COMMIT is sent: one that fails half-way counts too


def _uncount_commit() -> None:
    _commits.set(_commits.get() - 1)


def ask_about_lost_commits(engine: Engine, connect: Callable[[], object]) -> None:
    """Make the PostgreSQL `engine` ask the server what became of a COMMIT cut off by its connection;
    `connect` opens a new DBAPI connection to the same database (waiting a little for it to come back)."""
    dialect = engine.dialect
    commit = dialect.do_commit
    dbapi = dialect.loaded_dbapi
    connection_lost = (dbapi.OperationalError, dbapi.InterfaceError)

    def do_commit(dbapi_connection) -> None:
        try:
            xid = _scalar(dbapi_connection, "SELECT pg_current_xact_id_if_assigned()::text")
        except connection_lost:
            _uncount_commit()  # COMMIT never sent: the server rolls the transaction back
            raise
        try:
            commit(dbapi_connection)
        except connection_lost as exc:
            outcome = "empty" if xid is None else _outcome(connect, xid, connection_lost)
            if outcome == "committed":
                log.warning("the connection was lost during COMMIT, which the database says landed: carrying on")
                dbapi_connection.invalidate(exc)  # the pool must not hand this one out again
                return
            if outcome != "unknown":
                _uncount_commit()
            log.warning("the connection was lost during COMMIT: %s", WHAT_BECAME_OF_IT[outcome])
            raise

    dialect.do_commit = do_commit  # one engine's dialect: engines of SQLite, and other engines, are unaffected


def _outcome(connect: Callable[[], object], xid: str, connection_lost: tuple) -> str:
    """'committed', 'aborted', or 'unknown' when the database does not tell within the patience."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    pause = 0.05
    while time.monotonic() < deadline:
        try:
            connection = connect()
        except connection_lost:
            return "unknown"  # `connect` has waited its own patience already
        try:
            status = _scalar(connection, "SELECT pg_xact_status(%s::xid8)", (xid,))
        except connection_lost:
            status = None
        finally:
            connection.close()
        if status in ("committed", "aborted"):
            return status
        time.sleep(pause)  # in progress: the server has not yet seen the COMMIT, or the lost connection
        pause = min(pause * 2, 0.5)
    return "unknown"


def _scalar(dbapi_connection, sql: str, parameters: tuple = ()):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchone()[0]
    finally:
        cursor.close()
