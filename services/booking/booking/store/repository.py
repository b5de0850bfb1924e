"""Reads and writes of bookings, screenings and closures inside a caller's transaction."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.orm import Session

from ..domain.lifecycle import CANCELLED, COMPLETED, CONFIRMED
from ..domain.practitioners import Busy
from .tables import bookings, closures, courses, idempotency_keys, screenings


def screening(session: Session, screening_id: str, lock: bool = False):
    query = select(screenings).where(screenings.c.id == screening_id)
    if lock and session.bind.dialect.name == "postgresql":
        found = session.execute(query).first()  # the client's lock first, then the row
        if found is not None:
            lock_client(session, found.client_id)
        query = query.with_for_update()
    return session.execute(query).first()


def lock_client(session: Session, client_id: str) -> None:
    """Serialises all of one client's bookings, whichever screening each uses, so the spacing check (over
    every treatment of the client) cannot race, nor a booking an erasure. Released at commit (PostgreSQL;
    SQLite's BEGIN IMMEDIATE serialises every write already)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"booking-client:{client_id}"})


def booking(session: Session, booking_id: str, lock: bool = False):
    """The booking; with `lock`, its row stays locked until commit (FOR UPDATE; ignored by SQLite)."""
    query = select(bookings).where(bookings.c.id == booking_id)
    return session.execute(query.with_for_update() if lock else query).first()


def list_bookings(session: Session, client_id: str | None, start: datetime | None = None,
                  end: datetime | None = None, course_id: str | None = None):
    query = select(bookings).order_by(bookings.c.start_at, bookings.c.reference)
    if client_id is not None:
        query = query.where(bookings.c.client_id == client_id)
    if start is not None:
        query = query.where(bookings.c.start_at >= start)
    if end is not None:
        query = query.where(bookings.c.start_at < end)
    if course_id is not None:
        query = query.where(bookings.c.course_id == course_id)
    return session.execute(query).all()


def busy_between(session: Session, start: datetime, end: datetime, exclude_id: str | None = None) -> list[Busy]:
    """Confirmed bookings that could clash with anything in [start, end): a wide window is cheap."""
    query = select(bookings.c.practitioner_id, bookings.c.start_at, bookings.c.end_at).where(
        bookings.c.status == CONFIRMED,
        bookings.c.start_at < end,
        bookings.c.blocked_until > start,
    )
    if exclude_id is not None:
        query = query.where(bookings.c.id != exclude_id)
    return [Busy(r.practitioner_id, r.start_at, r.end_at) for r in session.execute(query).all()]


def treatment_starts(session: Session, client_id: str, exclude_id: str | None = None) -> list[datetime]:
    """Starts of the client's treatments that count for spacing: confirmed or completed."""
    query = select(bookings.c.start_at).where(
        bookings.c.client_id == client_id,
        bookings.c.type == "treatment",
        bookings.c.status.in_((CONFIRMED, COMPLETED)),
    )
    if exclude_id is not None:
        query = query.where(bookings.c.id != exclude_id)
    return [r.start_at for r in session.execute(query).all()]


_DAY_LOCK_NAMESPACE = 0x424B << 32  # "BK": keeps these advisory lock keys apart from anyone else's


def guard_day(session: Session, day: date, exclusive: bool) -> None:
    """On PostgreSQL, bookings of a day (shared) and a closure of that day (exclusive) exclude each
    other, so neither can miss the other committing. SQLite's BEGIN IMMEDIATE does this already."""
    if session.bind.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.execute(text(f"SELECT {function}(:key)"), {"key": _DAY_LOCK_NAMESPACE + day.toordinal()})


def closed_dates(session: Session, first: date, last: date) -> set[date]:
    rows = session.execute(select(closures.c.date).where(and_(closures.c.date >= first, closures.c.date <= last)))
    return {r.date for r in rows}


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def confirmed_on_day(session: Session, day: date, tz: ZoneInfo) -> int:
    start, end = local_day_bounds(day, tz)
    return session.scalar(select(func.count()).select_from(bookings).where(
        bookings.c.status == CONFIRMED, bookings.c.start_at >= start, bookings.c.start_at < end))


# --- a client's data ------------------------------------------------------------------------------------

def courses_of_client(session: Session, client_id: str):
    return session.execute(select(courses).where(courses.c.client_id == client_id)
                           .order_by(courses.c.created_at, courses.c.id)).all()


def cancel_future_bookings(session: Session, client_id: str, now: datetime) -> int:
    """The client's confirmed bookings not yet started become cancelled (the slot is free again); no event."""
    return session.execute(update(bookings).where(
        bookings.c.client_id == client_id, bookings.c.status == CONFIRMED, bookings.c.start_at > now,
    ).values(status=CANCELLED, cancelled_at=now, version=bookings.c.version + 1)).rowcount


def anonymise_bookings(session: Session, client_id: str, anonymous_id: str) -> int:
    """Every booking and course of the client is kept without anything that says whose it was (and without
    the cancellation reason, free text the client may have written themselves)."""
    count = session.execute(update(bookings).where(bookings.c.client_id == client_id)
                            .values(client_id=anonymous_id, cancel_reason=None)).rowcount
    session.execute(update(courses).where(courses.c.client_id == client_id).values(client_id=anonymous_id))
    return count


def forget_client(session: Session, client_id: str) -> None:
    """The client's contact (the screening projection) and their idempotency keys."""
    session.execute(delete(idempotency_keys).where(idempotency_keys.c.client_id == client_id))
    session.execute(delete(screenings).where(screenings.c.client_id == client_id))
