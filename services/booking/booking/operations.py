"""The booking use cases: each one a single database transaction that checks the clinic's rules,
writes the change and its event (transactional outbox) together.

No Flask here: callers pass plain values and get rows or `ApiError`s back.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.datetimes import to_local_iso
from clinic_shared.db import reads, transaction
from clinic_shared.errors import ApiError, validation_error
from clinic_shared.audit import record_audit
from clinic_shared.auth import Principal
from clinic_shared.outbox import add_event
from clinic_shared.paging import Position

from . import client_data
from .domain.availability import Slot, range_slots
from .domain.booking_rules import check_session
from .domain.change_notice import Contact, change_deadline, check_change_allowed
from .domain.courses import course_shape_errors, course_starts
from .domain.lifecycle import CANCELLED, COMPLETED, CONFIRMED, FIRST_VERSION, can_change, next_version
from .domain.practitioners import choose_practitioner
from .domain.screenings import ScreeningStatus, check_screening
from .domain.treatments import CONSULTATION, TREATMENT, duration_of, unknown_areas
from .domain.violations import RuleViolation
from .settings import BookingSettings
from .store import repository, waitlist_repository
from .store.tables import closures, courses, idempotency_keys, outbox

log = logging.getLogger(__name__)

PRODUCER = "booking"
AUDITED_BOOKING_EVENTS = ("booking.cancelled", "booking.rescheduled", "booking.completed")  # API.md "Audit"
MAX_ATTEMPTS = 5  # a lost race on the database's constraint is retried with fresh data
SCREENING_POLL_SECONDS = 0.05  # while a booking waits for its screening event
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone


def new_reference() -> str:
    return "MN-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def not_found() -> ApiError:
    return ApiError(404, "not_found", "No such booking.")


def already_final(status: str) -> ApiError:
    return ApiError(409, "conflict", f"This booking is {status}; it can no longer be changed.", {"status": status})


def changed_meanwhile(row) -> ApiError:
    return ApiError(409, "conflict", "This booking has changed since you read it; look at it again.",
                    {"status": row.status, "version": row.version})


def rule_error(violation: RuleViolation, **extra_details) -> ApiError:
    status = 409 if violation.code == "slot_unavailable" else 422
    return ApiError(status, violation.code, violation.message, {**violation.details, **extra_details})


# PostgreSQL aborts one of two transactions that insert clashing rows at once (each waits on the other's
# exclusion-constraint check: a deadlock) or that cannot be serialised; both mean: look again.
RACE_SQLSTATES = {"40P01", "40001"}


def lost_a_race(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES


@dataclass(frozen=True)
class Booked:
    row: object
    created: bool  # False when an Idempotency-Key replayed an earlier booking


class Scheduler:
    def __init__(self, settings: BookingSettings, session_factory: sessionmaker[Session],
                 clock: Callable[[], datetime], correlation_id: Callable[[], str | None] = lambda: None,
                 actor: Callable[[], Principal | None] = lambda: None):
        self._settings = settings
        # Public, with validate_kind, screening_for, with_screening, retrying and audit: the waitlist's use
        # cases (waitlist_operations.py) share them.
        self.rules = settings.rules
        self.sessions = session_factory
        self.clock = clock
        self.correlation_id = correlation_id
        self._actor = actor  # who asks: staff changes are recorded in the audit trail

    # ----- shapes -------------------------------------------------------------------------

    def booking_view(self, row) -> dict:
        tz = self.rules.timezone
        return {
            "id": row.id, "reference": row.reference, "status": row.status, "type": row.type,
            "areas": list(row.areas), "start": to_local_iso(row.start_at, tz), "end": to_local_iso(row.end_at, tz),
            "practitioner": {"id": row.practitioner_id, "name": row.practitioner_name},
            "client_id": row.client_id, "screening_id": row.screening_id, "course_id": row.course_id,
            "version": row.version,
            "changeable_until": to_local_iso(change_deadline(row.start_at, self.rules.change_notice_hours), tz),
        }

    def _snapshot(self, row, screening) -> dict:
        view = self.booking_view(row)
        data = {k: v for k, v in view.items() if k not in ("id", "changeable_until")}
        data.update(booking_id=row.id, timezone=self.rules.timezone.key,
                    client={"name": screening.client_name, "email": screening.client_email,
                            "phone": screening.client_phone})
        return data

    def _emit(self, session: Session, event_type: str, row, screening=None, **extra) -> None:
        """Add the event of `row`'s change to the outbox; `screening` (the row's, if the caller has it) names the client."""
        if screening is None:
            screening = repository.screening(session, row.screening_id)
        if screening is not None:  # None: a past booking of an erased client, whom no one may hear about again
            add_event(session, outbox, event_type, {**self._snapshot(row, screening), **extra},
                      producer=PRODUCER, correlation_id=self.correlation_id())
        if event_type in AUDITED_BOOKING_EVENTS:
            self.audit(session, event_type, "booking", row.id)

    def audit(self, session: Session, action: str, resource_type: str, resource_id: str) -> None:
        """Record what staff did (a client's own change is not audited: record_audit skips it)."""
        record_audit(session, outbox, self._actor(), action, resource_type, resource_id,
                     producer=PRODUCER, correlation_id=self.correlation_id())

    # ----- checks shared by every way of taking a slot ------------------------------------

    def validate_kind(self, booking_type: str, areas: Sequence[str]) -> list[str]:
        if booking_type == CONSULTATION:
            return []
        fields = {}
        if not areas:
            fields["areas"] = ["A treatment needs at least one area."]
        elif unknown := unknown_areas(areas, self.rules):
            fields["areas"] = [f"Unknown areas: {', '.join(unknown)}."]
        elif len(set(areas)) != len(areas):
            fields["areas"] = ["An area is listed twice."]
        if fields:
            raise validation_error(fields)
        return list(areas)

    def with_screening(self, screening_id: str, work: Callable[[Session], object]):
        """Run `work`; if its screening has not arrived yet, wait for it briefly and run it once more.

        A client books right after its screening, and the screening event may still be on its way; the
        wait polls outside any transaction, holding no lock, and ends at `screening_wait_seconds`."""
        try:
            return self.retrying(work)
        except ApiError as error:
            if error.code != "screening_pending" or not self._screening_arrives(screening_id):
                raise
        return self.retrying(work)

    def _screening_arrives(self, screening_id: str) -> bool:
        give_up_at = time.monotonic() + self._settings.screening_wait_seconds
        while time.monotonic() < give_up_at:
            time.sleep(SCREENING_POLL_SECONDS)
            with self.sessions() as session:
                if repository.screening(session, screening_id) is not None:
                    return True
        return False

    def screening_for(self, session: Session, client_id: str, screening_id: str, lock: bool = True,
                       guard_days: Sequence[date] = ()):
        screening = repository.screening(session, screening_id, lock=lock, guard_days=guard_days)
        if screening is None:
            retry = self._settings.screening_retry_after_seconds
            raise ApiError(409, "screening_pending",
                           "We have not received this screening yet; try again in a moment.",
                           {"retry_after_seconds": retry}, headers={"Retry-After": str(retry)})
        if screening.client_id != client_id:
            raise ApiError(404, "not_found", "No such screening.")
        return screening

    def _place(self, session: Session, screening, booking_type: str, areas: list[str], start: datetime,
               now: datetime, exclude_id: str | None = None, extra_starts: Sequence[datetime] = ()):
        """Check every rule for one session; return (end, practitioner, whether a waitlist offer holds this very
        time for the client) or raise RuleViolation."""
        check_screening(ScreeningStatus(screening.outcome, screening.valid_until), booking_type, now)
        day = start.astimezone(self.rules.timezone).date()
        repository.guard_day(session, day, exclusive=False)
        margin = timedelta(days=1)  # a whole day around it: enough for turnover and the day's load
        # The session's length needs nothing read (and is check_session's first check, so errors come in the
        # same order): the window of busy practitioners is known before reading, and all reads are one statement,
        # after the day's lock (so a closure committed before it is seen).
        window = (start - margin, start + duration_of(booking_type, areas, self.rules) + margin)
        if booking_type == TREATMENT:
            busy, others, held, closed = repository.around_a_session(session, *window, screening.client_id, day,
                                                                     exclude_id)
            others += list(extra_starts)
        else:
            (busy, held, closed), others = repository.busy_held_and_closed(session, *window, day, day, exclude_id), []
        # Time held for a waiting client's offer is taken for everyone else (booking README "Waitlist").
        busy += waitlist_repository.as_busy(held, now, except_client=screening.client_id)
        end = check_session(booking_type, areas, start, now, self.rules, closed, others)
        practitioner = choose_practitioner(start, end, busy, self.rules)
        if practitioner is None:
            raise RuleViolation("slot_unavailable", "That time has just been taken; please choose another slot.",
                                {"start": to_local_iso(start, self.rules.timezone)})
        offered = any(h.client_id == screening.client_id and h.type == booking_type and h.start == start for h in held)
        return end, practitioner, offered

    def _insert_booking(self, session: Session, screening, booking_type: str, areas: list[str],
                        start: datetime, end: datetime, practitioner, now: datetime,
                        course_id: str | None = None):
        """Insert the booking; returns its row as stored."""
        return repository.insert_booking(session, dict(
            id=str(uuid.uuid4()), reference=new_reference(), status=CONFIRMED, version=FIRST_VERSION,
            type=booking_type, areas=areas,
            start_at=start, end_at=end, blocked_until=end + timedelta(minutes=self.rules.turnover_minutes),
            practitioner_id=practitioner.id, practitioner_name=practitioner.name,
            client_id=screening.client_id, screening_id=screening.id, course_id=course_id, created_at=now,
            cancelled_at=None, cancel_reason=None, completed_at=None))

    def retrying(self, work: Callable[[Session], object]):
        """Run `work` in a transaction; a constraint the database enforced (a practitioner taken
        by a concurrent booking, a reference collision) means: look again with fresh data."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction(self.sessions) as session:
                    return work(session)
            except (IntegrityError, OperationalError) as exc:
                if isinstance(exc, OperationalError) and not lost_a_race(exc):
                    raise
                log.info("booking transaction lost a race (attempt %d): %s", attempt, exc.orig)
        raise ApiError(409, "slot_unavailable", "That time has just been taken; please choose another slot.")

    # ----- use cases ----------------------------------------------------------------------

    def book(self, client_id: str, screening_id: str, booking_type: str, areas: Sequence[str],
             start: datetime, idempotency_key: str | None = None) -> Booked:
        areas = self.validate_kind(booking_type, areas)
        request_hash = hashlib.sha256(json.dumps(
            [screening_id, booking_type, areas, start.timestamp()]).encode()).hexdigest()

        day = start.astimezone(self.rules.timezone).date()

        def work(session: Session) -> Booked:
            now = self.clock()
            screening = self.screening_for(session, client_id, screening_id, guard_days=(day,))
            # Look the key up only after the screening's lock: a concurrent replay that waited for it then
            # sees the first request's booking and returns it, instead of judging its own as a second one.
            if idempotency_key is not None:
                earlier = session.execute(select(idempotency_keys).where(
                    idempotency_keys.c.client_id == client_id, idempotency_keys.c.key == idempotency_key)).first()
                if earlier is not None:
                    if earlier.request_hash != request_hash:
                        raise ApiError(409, "idempotency_conflict",
                                       "This Idempotency-Key was used for a different booking request.")
                    return Booked(repository.booking(session, earlier.booking_id), created=False)
            try:
                end, practitioner, offered = self._place(session, screening, booking_type, areas, start, now)
            except RuleViolation as violation:
                raise rule_error(violation)
            row = self._insert_booking(session, screening, booking_type, areas, start, end, practitioner, now)
            if offered:  # booking the time a waitlist offer holds for this client fulfils the offer
                waitlist_repository.mark_booked(session, client_id, booking_type, start, row.id, now)
            if idempotency_key is not None:
                session.execute(idempotency_keys.insert().values(
                    client_id=client_id, key=idempotency_key, request_hash=request_hash,
                    booking_id=row.id, created_at=now))
            self._emit(session, "booking.confirmed", row, screening)
            return Booked(row, created=True)

        return self.with_screening(screening_id, work)

    def get(self, booking_id: str, client_id: str | None):
        """The booking if `client_id` may see it (None: staff), else 404."""
        with self.sessions() as session:
            row = repository.booking(session, booking_id)
        if row is None or (client_id is not None and row.client_id != client_id):
            raise not_found()
        return row

    def list_bookings(self, client_id: str | None, day: date | None, *, limit: int, after: Position | None):
        """A page of bookings by (start, id) after `after`, with one more row when there is a next page."""
        start = end = None
        if day is not None:
            start, end = repository.local_day_bounds(day, self.rules.timezone)
        with self.sessions() as session:
            return repository.booking_page(session, client_id, start, end, limit=limit, after=after)

    def _confirmed_for_change(self, session: Session, booking_id: str, client_id: str | None,
                              expected_version: int | None):
        """The booking, locked until commit, if it can change and, when the caller says which version it saw
        (If-Match), is still that version. The lock (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE locks
        the whole database) makes a concurrent change wait and then judge the booking as it left it."""
        row = repository.booking(session, booking_id, lock=True)
        if row is None or (client_id is not None and row.client_id != client_id):
            raise not_found()
        if not can_change(row.status):
            raise already_final(row.status)
        if expected_version is not None and row.version != expected_version:
            raise changed_meanwhile(row)
        self._check_notice(row, by_staff=client_id is None)
        return row

    def _check_notice(self, row, by_staff: bool) -> None:
        """A client changes a booking only up to the change notice before its start; staff at any time."""
        rules = self.rules
        try:
            check_change_allowed(row.start_at, self.clock(), rules.change_notice_hours, by_staff,
                                 Contact(rules.contact_phone, rules.contact_email), rules.timezone)
        except RuleViolation as violation:
            raise rule_error(violation)

    def _change(self, session: Session, seen, **values):
        """Write `values` only over the booking as it was read (still confirmed, same version) and raise its
        version. Under the row lock this always matches; the condition keeps the write safe even for a
        caller that read without the lock (of two such changes, the second finds nothing and gets 409)."""
        row = repository.update_booking(session, seen.id, CONFIRMED, seen.version,
                                        dict(version=next_version(seen.version), **values))
        if row is None:
            raise changed_meanwhile(repository.booking(session, seen.id))
        return row

    def cancel(self, booking_id: str, client_id: str | None, reason: str | None,
               expected_version: int | None = None):
        def work(session: Session):
            seen = self._confirmed_for_change(session, booking_id, client_id, expected_version)
            row = self._change(session, seen, status=CANCELLED, cancelled_at=self.clock(), cancel_reason=reason)
            self._emit(session, "booking.cancelled", row, reason=reason)
            return row

        return self.retrying(work)

    def complete(self, booking_id: str, expected_version: int | None = None):
        def work(session: Session):  # staff only: the change notice does not apply
            seen = self._confirmed_for_change(session, booking_id, None, expected_version)
            now = self.clock()
            row = self._change(session, seen, status=COMPLETED, completed_at=now)
            self._emit(session, "booking.completed", row, completed_at=to_local_iso(now, self.rules.timezone))
            return row

        return self.retrying(work)

    def reschedule(self, booking_id: str, client_id: str | None, start: datetime,
                   expected_version: int | None = None):
        tz = self.rules.timezone

        def work(session: Session):
            row = self._confirmed_for_change(session, booking_id, client_id, expected_version)
            screening = repository.screening(session, row.screening_id, lock=True)
            try:
                end, practitioner, _ = self._place(session, screening, row.type, list(row.areas), start,
                                                self.clock(), exclude_id=row.id)
            except RuleViolation as violation:
                raise rule_error(violation)
            new = self._change(
                session, row, start_at=start, end_at=end,
                blocked_until=end + timedelta(minutes=self.rules.turnover_minutes),
                practitioner_id=practitioner.id, practitioner_name=practitioner.name)
            self._emit(session, "booking.rescheduled", new, screening, previous_start=to_local_iso(row.start_at, tz),
                       previous_end=to_local_iso(row.end_at, tz))
            return new

        return self.retrying(work)

    def book_course(self, client_id: str, screening_id: str, areas: Sequence[str], sessions: int,
                    interval_weeks: int, first_start: datetime):
        """All sessions or none: one transaction; the first session that fails says why."""
        areas = self.validate_kind(TREATMENT, areas)
        shape = course_shape_errors(sessions, interval_weeks, self.rules)
        if shape:
            raise validation_error(shape)
        starts = course_starts(first_start, sessions, interval_weeks, self.rules)
        tz = self.rules.timezone

        def work(session: Session):
            now = self.clock()
            screening = self.screening_for(session, client_id, screening_id)
            course_id = str(uuid.uuid4())
            session.execute(courses.insert().values(
                id=course_id, client_id=client_id, screening_id=screening_id, areas=areas,
                sessions=sessions, interval_weeks=interval_weeks, created_at=now))
            placed = []
            for number, start in enumerate(starts, 1):
                try:
                    end, practitioner, _ = self._place(session, screening, TREATMENT, areas, start, now,
                                                    extra_starts=[s for s, _ in placed])
                except RuleViolation as violation:
                    local_start = to_local_iso(start, tz)
                    error = rule_error(violation, session=number, start=local_start, reason=violation.message)
                    error.message = f"Session {number} of the course ({local_start}) cannot be booked: {violation.message}"
                    raise error
                placed.append((start, self._insert_booking(session, screening, TREATMENT, areas, start, end,
                                                           practitioner, now, course_id=course_id)))
            for _, row in placed:
                self._emit(session, "booking.confirmed", row, screening)
            return self._course(session, course_id)

        return self.with_screening(screening_id, work)

    def client_export(self, client_id: str) -> tuple[list, list, list]:
        """(bookings, courses, waitlist entries) of a client, for their export."""
        with self.sessions() as session:
            return client_data.export_client(session, client_id)

    def _course(self, session: Session, course_id: str):
        course = session.execute(select(courses).where(courses.c.id == course_id)).first()
        return course, repository.list_bookings(session, None, course_id=course_id)

    def get_course(self, course_id: str, client_id: str | None):
        with self.sessions() as session:
            course, rows = self._course(session, course_id)
        if course is None or (client_id is not None and course.client_id != client_id):
            raise ApiError(404, "not_found", "No such course.")
        return course, rows

    def availability(self, first: date, last: date, booking_type: str, areas: Sequence[str]) -> list[Slot]:
        areas = self.validate_kind(booking_type, areas)
        try:
            duration = duration_of(booking_type, areas, self.rules)
        except RuleViolation as violation:
            raise rule_error(violation)
        window_start, _ = repository.local_day_bounds(first, self.rules.timezone)
        _, window_end = repository.local_day_bounds(last, self.rules.timezone)
        now = self.clock()
        with reads(self.sessions) as session:  # one read: no transaction needed around it
            busy, held, closed = repository.busy_held_and_closed(session, window_start, window_end, first, last)
        busy += waitlist_repository.as_busy(held, now)
        return range_slots(first, last, duration, self.rules, now, busy, closed)

    # ----- closures -----------------------------------------------------------------------

    def list_closures(self):
        with self.sessions() as session:
            return session.execute(select(closures).order_by(closures.c.date)).all()

    def add_closure(self, day: date, reason: str):
        def work(session: Session):
            repository.guard_day(session, day, exclusive=True)
            if session.execute(select(closures.c.date).where(closures.c.date == day)).first():
                raise ApiError(409, "conflict", f"{day.isoformat()} is already a closure day.")
            count = repository.confirmed_on_day(session, day, self.rules.timezone)
            if count:
                raise ApiError(409, "conflict",
                               f"{count} confirmed booking(s) fall on {day.isoformat()}; move or cancel them first.",
                               {"confirmed_bookings": count})
            session.execute(closures.insert().values(date=day, reason=reason, created_at=self.clock()))
            self.audit(session, "closure.created", "closure", day.isoformat())
            return session.execute(select(closures).where(closures.c.date == day)).first()

        return self.retrying(work)

    def remove_closure(self, day: date) -> None:
        with transaction(self.sessions) as session:
            if session.execute(delete(closures).where(closures.c.date == day)).rowcount == 0:
                raise ApiError(404, "not_found", "No closure on that day.")
            self.audit(session, "closure.deleted", "closure", day.isoformat())
            # The day's time may go to its waitlist: the worker hears this event (booking README "Waitlist").
            add_event(session, outbox, "closure.deleted", {"date": day.isoformat()},
                      producer=PRODUCER, correlation_id=self.correlation_id())
