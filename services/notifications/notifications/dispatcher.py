"""The dispatcher: a periodic job that sends due messages, each exactly once as far as it can tell.

A claim (status `sending`, attempts + 1, a lease) is committed before anything is sent, so two
dispatchers never take one row (on PostgreSQL `FOR UPDATE SKIP LOCKED`; on SQLite the write lock
of BEGIN IMMEDIATE). A row whose dispatcher died while sending is claimed again after its lease.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.db import transaction

from .delivery import PermanentDeliveryError, build_email
from .domain.kinds import CANCELLED, FAILED, NEXT_SESSION_REMINDER, SCHEDULED, SENDING, SENT
from .domain.schedule import retry_delay
from .settings import NotificationSettings
from .store.repository import Repository, claimable

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, session_factory: sessionmaker[Session], repository: Repository, transport,
                 settings: NotificationSettings, clock: Callable[[], datetime]):
        self._sessions = session_factory
        self._repo = repository
        self._n = repository.n
        self._transport = transport
        self._settings = settings
        self._clock = clock

    def dispatch_due(self) -> int:
        """Claim the due messages and send them; return how many were claimed."""
        claimed = self.claim()
        for row in claimed:
            self._deliver(row)
        return len(claimed)

    def claim(self) -> list:
        now = self._clock()
        with transaction(self._sessions) as session:
            query = (select(self._n.c.id).where(claimable(self._n, now))
                     .order_by(self._n.c.not_before).limit(self._settings.dispatch_batch_size))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            session.execute(update(self._n).where(self._n.c.id.in_(ids)).values(
                status=SENDING, attempts=self._n.c.attempts + 1,
                lease_expires_at=now + self._settings.sending_lease, updated_at=now))
            return session.execute(select(self._n).where(self._n.c.id.in_(ids))
                                   .order_by(self._n.c.not_before)).all()

    def _deliver(self, row) -> None:
        if row.kind == NEXT_SESSION_REMINDER and self._has_later_treatment(row):
            self._finish(row, status=CANCELLED, last_error="the client already has a later treatment booked")
            return
        try:
            self._transport.send(build_email(row, self._settings, self._clock()), row.id)
        except Exception as exc:  # any failure of delivery is retried, boundedly
            self._failed(row, exc)
            return
        self._finish(row, status=SENT, sent_at=self._clock(), last_error=None)
        log.info("sent %s %s to %s", row.kind, row.id, row.to_address)

    def _has_later_treatment(self, row) -> bool:
        with self._sessions() as session:
            booking = self._repo.booking(session, row.booking_id) if row.booking_id else None
            return booking is not None and self._repo.has_later_treatment(
                session, booking.client_id, booking.booking_id, booking.start)

    def _failed(self, row, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if isinstance(exc, PermanentDeliveryError) or row.attempts >= self._settings.max_attempts:
            log.error("giving up on %s %s after %d attempts: %s", row.kind, row.id, row.attempts, error)
            self._finish(row, status=FAILED, last_error=error)
            return
        delay = retry_delay(row.attempts, self._settings.retry_backoff, self._settings.retry_backoff_max)
        log.warning("sending %s %s failed (attempt %d), retrying in %s: %s", row.kind, row.id, row.attempts,
                    delay, error)
        self._finish(row, status=SCHEDULED, not_before=self._clock() + delay, last_error=error)

    def _finish(self, row, **values) -> None:
        # Only our own claim: if the lease ran out and another dispatcher took the row, it finishes it.
        with transaction(self._sessions) as session:
            session.execute(update(self._n).where(
                self._n.c.id == row.id, self._n.c.status == SENDING, self._n.c.attempts == row.attempts,
            ).values(lease_expires_at=None, updated_at=self._clock(), **values))
