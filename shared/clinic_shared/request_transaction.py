"""A request's token check and its unit of work in one transaction.

A client request's token is checked before its body is read (`auth.authorised`), and the check reads the
database: was the client erased (`erasure.ErasedClients`)? On an endpoint whose database work is one
`db.transaction` with nothing before it (booking's POST /api/bookings), that read need not take a connection
and a transaction of its own: with `authorised(..., shares_transaction=True)` it begins the transaction
(`reading`) and the view's `db.transaction` continues it (`take`). One connection checkout (and its ping), one
BEGIN and one COMMIT then serve both; the read still comes first, so the answers and their order are the same.
A transaction nobody continued (the view answered 422 before it) is rolled back when the request ends (`discard`).

Only for such endpoints: until the view continues it, the transaction holds its connection (on SQLite, the write
lock), so a view that first read in a session of its own would wait for itself.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flask import g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

_WANTED = "clinic_shared_transaction_wanted"
_PENDING = "clinic_shared_transaction_pending"


def offer() -> None:
    """Let this request's database read (`reading`) begin the transaction its unit of work continues.

    The body is read into memory first (not parsed: that stays the view's, after the check), when its length is
    within the limit (a larger one is the view's 413, as before): a slow upload then holds no connection, nor on
    SQLite the write lock."""
    length = request.content_length
    if length is not None and (request.max_content_length is None or length <= request.max_content_length):
        request.get_data(cache=True)
    setattr(g, _WANTED, True)


@contextmanager
def reading(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session to read in: in a request that `offer`ed it, a transaction begun for the request's unit of work
    and left open for `take`; otherwise a session of its own, closed after."""
    if not (has_request_context() and g.get(_WANTED)):
        with session_factory() as session:
            yield session
        return
    discard()  # one left by an attempt that failed before continuing it (database_retry runs the view again)
    session = session_factory()
    try:
        yield session
    except BaseException:
        session.close()
        raise
    setattr(g, _PENDING, (session_factory, session))


def take(session_factory: sessionmaker[Session]) -> Session | None:
    """The transaction `reading` began in this request on `session_factory`, now the caller's to commit or roll
    back and close; None when there is none."""
    if not has_request_context():
        return None
    pending = g.get(_PENDING)
    if pending is None or pending[0] is not session_factory:
        return None
    delattr(g, _PENDING)
    return pending[1]


def discard(_error: BaseException | None = None) -> None:
    """Roll back and close a transaction nobody continued (a teardown_request handler, too)."""
    pending = g.pop(_PENDING, None)
    if pending is not None:
        pending[1].close()
