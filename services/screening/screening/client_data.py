"""A client's data (API.md "A client's data"): their export, their erasure, and the retention job.

This service owns the erasure record: client ids are made here (with a client's first screening), and the
answers, the most sensitive thing the system holds, are here. `request_erasure` erases this service's part
in the same transaction as the record, then `client.erasure_requested` (outbox) carries it to every other
service, each of which reports `client.erased` back (`on_service_erased`). The retention job asks for an
erasure through the very same function. Each function runs inside the caller's transaction.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.audit import record_audit
from clinic_shared.auth import Principal
from clinic_shared.datetimes import to_local_iso
from clinic_shared.db import transaction, utcnow
from clinic_shared.erasure import ERASED_CLIENT_ID, forget_client_events, guard_client, is_erased, mark_erased
from clinic_shared.outbox import add_event

from .domain.retention import DONE, booking_activity, erasure_progress, is_due, retention_cutoff
from .operations import note_answers_read
from .settings import SERVICE
from .store.repository import (ErasureRecord, ScreeningRecord, claim_daily_run, complete_erasure,
                               delete_client_screenings, delete_client_sign_in_codes, forget_activity, get_erasure,
                               inactive_clients, insert_erasure, last_activity, newest_screening_of_client,
                               note_activity, record_report, screenings_of_client)
from .store.tables import erased_clients, outbox

log = logging.getLogger(__name__)

RETENTION_JOB = "retention"


class ClientNotFound(Exception):
    """No such client here (never screened, or erased: their export is gone)."""


class ClientErased(Exception):
    """The client was erased: nothing more may be kept about them."""


def ensure_not_erased(session: Session, client_id: str) -> None:
    """For a write about an existing client: waits for an erasure of theirs in progress, then refuses if erased."""
    guard_client(session, client_id)
    if is_erased(session, erased_clients, client_id):
        raise ClientErased(client_id)


def export_client(session: Session, client_id: str, principal: Principal,
                  correlation_id: str | None = None) -> list[ScreeningRecord]:
    """The client's screenings, answers included; staff reading them is recorded (the export, and each answers)."""
    records = screenings_of_client(session, client_id)
    if not records:
        raise ClientNotFound(client_id)
    record_audit(session, outbox, principal, "client.exported", "client", client_id,
                 producer=SERVICE, correlation_id=correlation_id)
    note_answers_read(session, principal, [r.id for r in records], correlation_id)
    return records


def request_erasure(session: Session, client_id: str, *, reason: str, now: datetime, tz: ZoneInfo,
                    principal: Principal | None = None, correlation_id: str | None = None) -> ErasureRecord:
    """Start erasing a client (or find the erasure already started: asking twice changes nothing)."""
    guard_client(session, client_id)
    if get_erasure(session, client_id) is None:
        if newest_screening_of_client(session, client_id) is None and last_activity(session, client_id) is None:
            raise ClientNotFound(client_id)
        insert_erasure(session, client_id, reason, now)
        _erase_here(session, client_id, now)
        add_event(session, outbox, "client.erasure_requested",
                  {"client_id": client_id, "reason": reason, "requested_at": to_local_iso(now, tz)},
                  producer=SERVICE, correlation_id=correlation_id)
    record_audit(session, outbox, principal, "client.erasure_requested", "client", client_id,
                 producer=SERVICE, correlation_id=correlation_id)
    return get_erasure(session, client_id)


def _erase_here(session: Session, client_id: str, now: datetime) -> None:
    """This service's part: the screenings (contact, answers, reasons, clearance notes), the sign-in codes, the activity, the
    events about them still kept in the outbox; the client id joins the erased (its tokens stop working)."""
    delete_client_screenings(session, client_id)
    delete_client_sign_in_codes(session, client_id)
    forget_activity(session, client_id)
    forget_client_events(session, outbox, client_id)
    mark_erased(session, erased_clients, client_id, now)
    record_report(session, client_id, SERVICE, now)


def on_service_erased(session: Session, client_id: str, service: str, now: datetime) -> None:
    """A service reported its part done; the erasure is done once every service has."""
    erasure = get_erasure(session, client_id, lock=True)
    if erasure is None:
        log.warning("a report of an erasure this service never asked for, client %s", client_id)
        return
    record_report(session, client_id, service, now)
    status, _ = erasure_progress(set(erasure.reported) | {service})
    if status == DONE:
        complete_erasure(session, client_id, now)


def note_booking(session: Session, client_id: str, booking_end: datetime, occurred_at: datetime) -> None:
    """A booking event: its client is active (unless erased, whose activity is not kept)."""
    if client_id == ERASED_CLIENT_ID:
        return
    guard_client(session, client_id)  # an erasure running now commits before the write looks, or waits
    note_activity(session, client_id, booking_activity(booking_end, occurred_at), unless_erased=True)


class RetentionJob:
    """Once a day (whatever the number of workers, and across restarts: `daily_jobs`), erase every client
    last active more than `retention_days` ago, each in its own transaction, by `request_erasure`."""

    def __init__(self, session_factory: sessionmaker[Session], retention_days: float, tz: ZoneInfo,
                 clock: Callable[[], datetime] = utcnow, batch_size: int = 500):
        self._sessions = session_factory
        self._days = retention_days
        self._tz = tz
        self._clock = clock
        self._batch_size = batch_size

    def run_retention(self) -> int:
        """Erase the clients due, if today's run is ours to do; return how many were erased."""
        now = self._clock()
        with transaction(self._sessions) as session:
            if not claim_daily_run(session, RETENTION_JOB, now, now + timedelta(days=1)):
                return 0
        # A crash from here on leaves the rest for tomorrow's run: each erasure is whole or not at all.
        cutoff, erased = retention_cutoff(now, self._days), 0
        while True:
            with self._sessions() as session:
                due = inactive_clients(session, cutoff, self._batch_size)
            for client_id in due:
                erased += self._erase_if_still_due(client_id, now)
            if len(due) < self._batch_size:
                break
        if erased:
            log.info("retention: %d clients inactive since before %s erased", erased, cutoff.date())
        return erased

    def _erase_if_still_due(self, client_id: str, now: datetime) -> int:
        with transaction(self._sessions) as session:
            guard_client(session, client_id)
            last = last_activity(session, client_id)
            if last is None or not is_due(last, now, self._days):
                return 0  # erased meanwhile, or active again since it was listed
            request_erasure(session, client_id, reason="retention", now=now, tz=self._tz)
            return 1
