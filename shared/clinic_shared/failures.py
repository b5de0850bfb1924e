"""Transient or permanent: is a failure worth waiting out, or will it fail however often it is tried?

Transient: a database, broker or mail server that is down, restarting, unreachable or too slow, or a
transaction that lost a race (serialisation failure, deadlock, both OperationalError). Everything else —
bad data, a constraint, a bug — is permanent for the piece of work that raised it.
"""
from __future__ import annotations

import threading
from typing import Callable

from amqp.exceptions import RecoverableConnectionError
from kombu.exceptions import OperationalError as BrokerOperationalError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DATABASE_OUTAGES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
TRANSIENT = (*DATABASE_OUTAGES,
             BrokerOperationalError, RecoverableConnectionError,  # the broker, through kombu and py-amqp
             OSError)  # refused, reset, timed out: ConnectionError, TimeoutError, socket and SMTP errors


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, says a backend is unavailable for now."""
    return _raised_from(exc, TRANSIENT)


def is_database_outage(exc: BaseException) -> bool:
    """Like `is_transient`, for the database alone (not an HTTP call or a socket of any other kind)."""
    return _raised_from(exc, DATABASE_OUTAGES)


def _raised_from(exc: BaseException | None, kinds: tuple) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, kinds) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            return True
        exc = exc.__cause__  # `raise … from`: a wrapper of an outage is an outage
    return False


class GrowingPause:
    """Pauses that double from `first` to at most `longest`; each can be cut short by `stopping`."""

    def __init__(self, first: float = 0.5, longest: float = 30.0, stopping: threading.Event | None = None):
        self._first = first
        self._longest = longest
        self._next = first
        self._stopping = stopping or threading.Event()

    def wait(self, tick: Callable[[], None] | None = None) -> bool:
        """Sleep the next pause (calling `tick` about every second, e.g. a heartbeat); False if told to stop."""
        remaining, self._next = self._next, min(self._longest, self._next * 2)
        while remaining > 0:
            step = min(1.0, remaining)
            if self._stopping.wait(step):
                return False
            remaining -= step
            if tick is not None:
                tick()
        return not self._stopping.is_set()
