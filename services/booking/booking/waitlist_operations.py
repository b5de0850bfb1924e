"""The waitlist's use cases (API.md "Waitlist"): join, read, list and leave it.

A new entry is checked as a booking would be, without a slot (`domain.waitlist.check_day`), with the
Scheduler's own helpers for what every booking shares: the areas, the screening (and the short wait for a
screening event still on its way), the retry of a transaction that lost a race.
No Flask here: callers pass plain values and get rows or `ApiError`s back."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Sequence

from sqlalchemy.orm import Session

from clinic_shared.datetimes import to_local_iso
from clinic_shared.errors import ApiError
from clinic_shared.paging import Position

from .domain.screenings import ScreeningStatus, check_screening
from .domain.treatments import TREATMENT
from .domain.violations import RuleViolation
from .domain.waitlist import OFFERED, WAITING, check_day
from .operations import Scheduler, rule_error
from .store import repository, waitlist_repository
from .waitlist_offers import WaitlistOffers


def not_found() -> ApiError:
    return ApiError(404, "not_found", "No such waitlist entry.")


class Waitlist:
    def __init__(self, scheduler: Scheduler, offers: WaitlistOffers):
        self._scheduler = scheduler
        self._offers = offers

    def entry_view(self, row) -> dict:
        tz = self._scheduler.rules.timezone
        offer = None
        if row.offer_start is not None:
            offer = {"start": to_local_iso(row.offer_start, tz), "end": to_local_iso(row.offer_end, tz),
                     "expires_at": to_local_iso(row.expires_at, tz)}
        return {
            "id": row.id, "status": row.status, "type": row.type, "areas": list(row.areas), "date": row.date,
            "created_at": to_local_iso(row.created_at, tz), "offer": offer,
            "client_id": row.client_id, "screening_id": row.screening_id, "booking_id": row.booking_id,
        }

    def join(self, client_id: str, screening_id: str, booking_type: str, areas: Sequence[str], day: date):
        scheduler = self._scheduler
        areas = scheduler.validate_kind(booking_type, areas)
        rules = scheduler.rules

        def work(session: Session):
            now = scheduler.clock()
            # Locks the screening (and on PostgreSQL all of the client's bookings): one client's joins queue up.
            screening = scheduler.screening_for(session, client_id, screening_id)
            try:
                check_screening(ScreeningStatus(screening.outcome, screening.valid_until), booking_type, now)
                others = repository.treatment_starts(session, client_id) if booking_type == TREATMENT else []
                check_day(booking_type, areas, day, now, rules, repository.closed_dates(session, day, day), others)
            except RuleViolation as violation:
                raise rule_error(violation)
            waiting = waitlist_repository.active_entry(session, client_id, day)
            if waiting is not None:
                raise ApiError(409, "conflict", f"You are already on the waitlist for {day.isoformat()}.",
                               {"entry_id": waiting.id, "status": waiting.status})
            entry_id = str(uuid.uuid4())
            waitlist_repository.insert(session, id=entry_id, client_id=client_id, screening_id=screening_id,
                                       type=booking_type, areas=areas, date=day, status=WAITING,
                                       created_at=now, updated_at=now)
            return waitlist_repository.entry(session, entry_id)

        return scheduler.with_screening(screening_id, work)

    def get(self, entry_id: str, client_id: str | None):
        """The entry if `client_id` may see it (None: staff), else 404."""
        with self._scheduler.sessions() as session:
            row = waitlist_repository.entry(session, entry_id)
        if row is None or (client_id is not None and row.client_id != client_id):
            raise not_found()
        return row

    def list_entries(self, client_id: str | None, day: date | None, *, limit: int, after: Position | None):
        with self._scheduler.sessions() as session:
            return waitlist_repository.entry_page(session, client_id, day, limit=limit, after=after)

    def remove(self, entry_id: str, client_id: str | None) -> None:
        """Leave the waitlist (the client, or staff: audited). An offered entry's time goes to the next one."""
        scheduler = self._scheduler
        day = self.get(entry_id, client_id).date

        def work(session: Session):
            # The day's lock first, as offers take it: the entry is then read as the last offer left it.
            repository.guard_day(session, day, exclusive=True)
            row = waitlist_repository.entry(session, entry_id)
            if row is None:
                raise not_found()
            waitlist_repository.remove(session, entry_id)
            scheduler.audit(session, "waitlist.deleted", "waitlist_entry", entry_id)
            if row.status == OFFERED:
                self._offers.offer_freed_time(session, day, scheduler.correlation_id())

        scheduler.retrying(work)
