"""Freed time to the waitlist: offers, the holds they keep, and their expiry.

`offer_freed_time` runs inside the transaction of whatever may have freed time on a day: the handler of the
booking service's own `booking.cancelled`, `booking.rescheduled` and `closure.deleted` events (booking README
"Waitlist" says why through the broker), the expiry job, and the removal of an offered entry. It works from
the day as it now stands, not from what the event says was freed, so a late or repeated event offers nothing
twice: whatever an earlier run offered is held, and held time is busy.

**One at a time per day.** It first takes the day's exclusive lock (`repository.guard_day`; every booking of
that day takes the shared one before it reads who is free; SQLite's BEGIN IMMEDIATE serialises everything).
So two runs for one day (two cancellations handled by two workers) never offer one time twice, and an offer
and a booking of the same time never both win: whichever commits second has read the first.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.datetimes import to_local_iso
from clinic_shared.db import transaction
from clinic_shared.outbox import add_event

from .domain.practitioners import Busy
from .domain.screenings import ScreeningStatus, check_screening
from .domain.treatments import TREATMENT
from .domain.violations import RuleViolation
from .domain.waitlist import first_offer
from .settings import BookingSettings
from .store import repository, waitlist_repository
from .store.tables import outbox

log = logging.getLogger(__name__)

PRODUCER = "booking"
EXPIRY_INTERVAL_SECONDS = 5.0  # how often the worker looks for offers that ran out


class WaitlistOffers:
    def __init__(self, settings: BookingSettings, session_factory: sessionmaker[Session],
                 clock: Callable[[], datetime]):
        self._rules = settings.rules
        self._hold = timedelta(minutes=settings.waitlist_hold_minutes)
        self._sessions = session_factory
        self._clock = clock

    @property
    def hold_minutes(self) -> int:
        return int(self._hold.total_seconds() // 60)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self._rules.timezone).date()

    def offer_freed_time(self, session: Session, day: date, correlation_id: str | None = None) -> list[str]:
        """Offer the day's free time to its waiting entries, oldest first, each the earliest start it fits;
        return the ids of the entries offered."""
        if not waitlist_repository.has_waiting(session, day):
            return []  # the common case, without the day's lock
        repository.guard_day(session, day, exclusive=True)
        closed = repository.closed_dates(session, day, day)
        if day in closed:
            return []
        now = self._clock()
        first, last = repository.local_day_bounds(day, self._rules.timezone)
        margin = timedelta(days=1)  # turnover reaches over midnight in theory; a day either side is plenty
        busy, held = repository.busy_and_held(session, first - margin, last + margin)
        busy += waitlist_repository.as_busy(held, now)
        offered = []
        for entry in waitlist_repository.waiting_on(session, day):
            screening = repository.screening(session, entry.screening_id)
            if screening is None:
                continue
            made = self._offer_for(session, entry, screening, day, now, busy, closed)
            if made is None:
                continue
            blocked_until = made.end + timedelta(minutes=self._rules.turnover_minutes)
            if waitlist_repository.offer(session, entry.id, made, blocked_until, now) != 1:
                continue  # removed meanwhile
            busy.append(Busy(made.practitioner.id, made.start, made.end))
            self._announce(session, entry, screening, made, correlation_id)
            offered.append(entry.id)
        if offered:
            log.info("offered freed time on %s to %d waitlist entries", day.isoformat(), len(offered))
        return offered

    def _offer_for(self, session: Session, entry, screening, day: date, now: datetime, busy: list[Busy],
                   closed: set[date]):
        try:  # still allowed to book when the hold ends
            check_screening(ScreeningStatus(screening.outcome, screening.valid_until), entry.type, now + self._hold)
        except RuleViolation:
            return None
        others = repository.treatment_starts(session, entry.client_id) if entry.type == TREATMENT else []
        return first_offer(entry.type, list(entry.areas), day, now, self._hold, self._rules, busy, closed, others)

    def _announce(self, session: Session, entry, screening, made, correlation_id: str | None) -> None:
        """`waitlist.offered`, for the notifications service's `waitlist_offer` e-mail."""
        tz = self._rules.timezone
        add_event(session, outbox, "waitlist.offered", {
            "entry_id": entry.id, "client_id": entry.client_id, "screening_id": entry.screening_id,
            "client": {"name": screening.client_name, "email": screening.client_email,
                       "phone": screening.client_phone},
            "type": entry.type, "areas": list(entry.areas), "date": entry.date.isoformat(),
            "start": to_local_iso(made.start, tz), "end": to_local_iso(made.end, tz),
            "expires_at": to_local_iso(made.expires_at, tz), "hold_minutes": self.hold_minutes,
            "timezone": tz.key,
        }, producer=PRODUCER, correlation_id=correlation_id)

    def release_expired(self) -> int:
        """The worker's periodic job: offers not taken in time become `expired`, and their time goes to the
        next entry that fits, in the same transaction. Its state is the rows' `expires_at`, so a restart loses
        nothing; several workers may run it at once (each day's lock serialises them, and the second finds
        nothing left to expire)."""
        now = self._clock()
        with self._sessions() as session:
            days = waitlist_repository.days_with_expired_offers(session, now)
        released = 0
        for day in days:
            with transaction(self._sessions) as session:
                repository.guard_day(session, day, exclusive=True)
                expired = waitlist_repository.expire_offers(session, day, now)
                if expired:
                    released += expired
                    self.offer_freed_time(session, day)
        if released:
            log.info("%d waitlist offers expired", released)
        return released
