"""Reads and writes of bookings, screenings and closures inside a caller's transaction.

The hot paths' statements are built once, here, with bind parameters (not per call): SQLAlchemy then
memoises each one's cache key and finds its compiled form at once, and building them costs nothing per
request. tests/test_booking_statements.py holds each hot path to its number of statements.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import (Date, and_, bindparam, cast, delete, false, func, literal, null, or_, select, text, true,
                        type_coerce, union_all, update)
from sqlalchemy.orm import Session

from clinic_shared.db import UTCDateTime
from clinic_shared.paging import Position, keyset

from ..domain.clinic import LONGEST_BLOCK
from ..domain.lifecycle import CANCELLED, COMPLETED, CONFIRMED
from ..domain.practitioners import Busy
from . import waitlist_repository
from .tables import bookings, closures, courses, idempotency_keys, screenings, waitlist

GUARDED_DAYS = "booking.guarded_days"  # session.info: days whose shared lock this transaction holds

_SCREENING = select(screenings).where(screenings.c.id == bindparam("screening_id"))
# On PostgreSQL one statement takes, in this order, the client's lock (serialises all of one client's bookings,
# whichever screening each uses, so the spacing check over every treatment of the client cannot race), the
# shared locks of the days about to be booked (guard_day) and the screening's row lock; all are released at
# commit. The reads that follow run in later statements, so they see whatever committed before the locks.
_CLIENT_LOCK = func.pg_advisory_xact_lock(
    func.hashtextextended(literal("booking-client:") + screenings.c.client_id, 0)).label("client_locked")
_LOCKED_SCREENINGS = {  # by how many days are guarded with it: 0 or 1 (a booking); others take guard_day
    0: select(screenings, _CLIENT_LOCK).where(screenings.c.id == bindparam("screening_id")).with_for_update(),
    1: select(screenings, _CLIENT_LOCK, func.pg_advisory_xact_lock_shared(bindparam("day_0")).label("day_locked"))
    .where(screenings.c.id == bindparam("screening_id")).with_for_update(),
}


def screening(session: Session, screening_id: str, lock: bool = False, guard_days: Iterable[date] = ()):
    """The screening; with `lock`, locked (and its client's bookings serialised) until commit, and on
    PostgreSQL `guard_days` (at most one) taken as guard_day(exclusive=False) would, in the same statement."""
    guard_days = tuple(guard_days)
    if not lock or session.bind.dialect.name != "postgresql":
        return session.execute(_SCREENING, {"screening_id": screening_id}).first()
    params = {"screening_id": screening_id, **{f"day_{i}": _day_key(day) for i, day in enumerate(guard_days)}}
    found = session.execute(_LOCKED_SCREENINGS[len(guard_days)], params).first()
    if found is not None:
        session.info.setdefault(GUARDED_DAYS, set()).update(guard_days)
    return found


_BOOKING = select(bookings).where(bookings.c.id == bindparam("booking_id"))
_BOOKING_FOR_UPDATE = _BOOKING.with_for_update()
INSERT_BOOKING = bookings.insert().returning(*bookings.c)


def lock_client(session: Session, client_id: str) -> None:
    """Serialises all of one client's bookings, whichever screening each uses, so the spacing check (over
    every treatment of the client) cannot race, nor a booking an erasure; the same key as _CLIENT_LOCK, which
    takes it with the screening row. Released at commit (PostgreSQL;
    SQLite's BEGIN IMMEDIATE serialises every write already)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"booking-client:{client_id}"})


def booking(session: Session, booking_id: str, lock: bool = False):
    """The booking; with `lock`, its row stays locked until commit (FOR UPDATE; ignored by SQLite)."""
    return session.execute(_BOOKING_FOR_UPDATE if lock else _BOOKING, {"booking_id": booking_id}).first()


def insert_booking(session: Session, values: dict):
    """Insert a booking; returns the row as stored (RETURNING: no second read)."""
    return session.execute(INSERT_BOOKING, values).first()


def update_booking(session: Session, booking_id: str, seen_status: str, seen_version: int, values: dict):
    """Write `values` only over the booking as it was seen; returns the row as stored, or None if it had changed."""
    return session.execute(update(bookings).where(
        bookings.c.id == booking_id, bookings.c.status == seen_status, bookings.c.version == seen_version,
    ).values(**values).returning(*bookings.c)).first()


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


def booking_page(session: Session, client_id: str | None, start: datetime | None, end: datetime | None, *,
                 limit: int, after: Position | None):
    """GET /api/bookings: by (start, id) from after `after`, up to `limit` + 1 rows (clinic_shared.paging)."""
    query = select(bookings)
    if client_id is not None:
        query = query.where(bookings.c.client_id == client_id)
    if start is not None:
        query = query.where(bookings.c.start_at >= start)
    if end is not None:
        query = query.where(bookings.c.start_at < end)
    return session.execute(keyset(query, bookings.c.start_at, bookings.c.id, after, limit)).all()


def _busy(start, end, earliest_start):
    """Confirmed bookings that could clash with anything in [start, end): a wide window is cheap.

    `earliest_start` is start - LONGEST_BLOCK (`_window`): no booking that began before it blocks anything
    after `start`, and with this lower bound on start_at the database reads the window's range of
    ix_bookings_start instead of every confirmed booking there ever was (blocked_until > start alone bounds
    no index: the exclusion constraint's, scanned whole, then filtered)."""
    return and_(bookings.c.status == CONFIRMED, bookings.c.start_at < end, bookings.c.start_at > earliest_start,
                bookings.c.blocked_until > start)


def _window(start: datetime, end: datetime) -> dict:
    """The bind parameters of `_busy` and `held_in` for [start, end)."""
    return {"start": start, "end": end, "earliest_start": start - LONGEST_BLOCK}


def _spacing_counts(client_id: str):
    """The client's treatments that count for spacing: confirmed or completed."""
    return and_(bookings.c.client_id == client_id, bookings.c.type == "treatment",
                bookings.c.status.in_((CONFIRMED, COMPLETED)))


def treatment_starts(session: Session, client_id: str, exclude_id: str | None = None) -> list[datetime]:
    """Starts of the client's treatments that count for spacing: confirmed or completed."""
    query = select(bookings.c.start_at).where(_spacing_counts(client_id))
    if exclude_id is not None:
        query = query.where(bookings.c.id != exclude_id)
    return [r.start_at for r in session.execute(query).all()]


# Time a waitlist offer holds is taken like a booking's (booking README "Waitlist"), so every read of the bookings
# that could clash with a session also reads the offers that could, in the same statement: bookings and offers
# as rows of one shape, `held` telling them apart. Each read takes only the columns its callers use: a month of
# availability converts every timestamp it reads. The reads that judge a session or a range of days take the
# closures of those days with them too (`closed`): one statement less per booking and per availability request.
def _with_held(which_bookings, *extra: str, closures_too: bool = False):
    """Rows of the bookings `which_bookings` (but `exclude_id`) and of the offers held in [start, end): held,
    practitioner_id, start, end, client_id, type, expires_at (None for a booking), then the `extra` columns,
    which an offer has too (its entry's `status`, its `blocked_until`). With `closures_too`, then a `closed`
    column: None in those rows, and one row per closure from `first` to `last` with only `closed` set."""
    offer_columns = {"status": waitlist.c.status, "blocked_until": waitlist.c.offer_blocked_until}
    # Typed (a CAST): PostgreSQL would take two untyped NULLs for text, which no date unites with.
    no_closure = (cast(null(), Date()).label("closed"),) if closures_too else ()
    parts = [
        select(false().label("held"), bookings.c.practitioner_id, bookings.c.start_at.label("start"),
               bookings.c.end_at.label("end"), bookings.c.client_id, bookings.c.type,
               type_coerce(null(), UTCDateTime()).label("expires_at"), *(bookings.c[c] for c in extra), *no_closure)
        .where(which_bookings, bookings.c.id != bindparam("exclude_id")),
        select(true().label("held"), waitlist.c.offer_practitioner_id.label("practitioner_id"),
               waitlist.c.offer_start.label("start"), waitlist.c.offer_end.label("end"), waitlist.c.client_id,
               waitlist.c.type, waitlist.c.expires_at, *(offer_columns[c].label(c) for c in extra), *no_closure)
        .where(waitlist_repository.held_in(bindparam("start"), bindparam("end"))),
    ]
    if closures_too:
        nothing = [null().label(c) for c in ("held", "practitioner_id", "start", "end", "client_id", "type",
                                              "expires_at", *extra)]
        parts.append(select(*nothing, closures.c.date.label("closed")).where(_CLOSED_BETWEEN))
    return union_all(*parts)


_CLOSED_BETWEEN = and_(closures.c.date >= bindparam("first"), closures.c.date <= bindparam("last"))
_BUSY = _busy(bindparam("start"), bindparam("end"), bindparam("earliest_start"))
_BUSY_AND_HELD = _with_held(_BUSY)
_BUSY_HELD_AND_CLOSED = _with_held(_BUSY, closures_too=True)
_AROUND_A_SESSION = _with_held(or_(_BUSY, _spacing_counts(bindparam("client_id"))), "status", "blocked_until",
                               closures_too=True)


def busy_and_held(session: Session, start: datetime, end: datetime,
                  exclude_id: str | None = None) -> tuple[list[Busy], list]:
    """The confirmed bookings that could clash with anything in [start, end) (but `exclude_id`), and the
    waitlist offers holding time there (rows for waitlist_repository.as_busy), in one statement."""
    busy, held, _ = _busy_rows(session.execute(
        _BUSY_AND_HELD, {**_window(start, end), "exclude_id": exclude_id or ""}).all())
    return busy, held


def busy_held_and_closed(session: Session, start: datetime, end: datetime, first: date, last: date,
                         exclude_id: str | None = None) -> tuple[list[Busy], list, set[date]]:
    """busy_and_held(start, end) and closed_dates(first, last), in one statement."""
    return _busy_rows(session.execute(_BUSY_HELD_AND_CLOSED, {
        **_window(start, end), "exclude_id": exclude_id or "", "first": first, "last": last}).all())


def _busy_rows(rows) -> tuple[list[Busy], list, set[date]]:
    """Rows of _with_held as (busy bookings, held offers, closed dates). All rows were fetched at once (`all`):
    iterating the result fetched them one by one, a call into the driver each."""
    busy, held, closed = [], [], set()
    for row in rows:
        # By position (_with_held's order): a Row's attributes cost several times its indexes, and a month of
        # availability reads hundreds of rows.
        if row[0] is None:  # a closure: only its date (the last column)
            closed.add(row[-1])
        elif row[0]:  # held
            held.append(row)
        else:
            busy.append(Busy(row[1], row[2], row[3]))  # practitioner_id, start, end
    return busy, held, closed


def around_a_session(session: Session, start: datetime, end: datetime, client_id: str, day: date,
                     exclude_id: str | None = None) -> tuple[list[Busy], list[datetime], list, set[date]]:
    """busy_and_held(start, end), treatment_starts(client_id) and closed_dates(day, day) in one statement (all
    indexed: the database ORs the bookings' two index scans); a booking in both lists comes back once and
    counts in each."""
    rows = session.execute(_AROUND_A_SESSION, {**_window(start, end), "client_id": client_id,
                                               "exclude_id": exclude_id or "", "first": day, "last": day}).all()
    closed = {r.closed for r in rows if r.held is None}
    bookings_around = [r for r in rows if r.held is not None and not r.held]
    busy = [Busy(r.practitioner_id, r.start, r.end) for r in bookings_around
            if r.status == CONFIRMED and r.start < end and r.blocked_until > start]
    starts = [r.start for r in bookings_around
              if r.client_id == client_id and r.type == "treatment" and r.status in (CONFIRMED, COMPLETED)]
    return busy, starts, [r for r in rows if r.held], closed


_DAY_LOCK_NAMESPACE = 0x424B << 32  # "BK": keeps these advisory lock keys apart from anyone else's


def _day_key(day: date) -> int:
    return _DAY_LOCK_NAMESPACE + day.toordinal()


def guard_day(session: Session, day: date, exclusive: bool) -> None:
    """On PostgreSQL, bookings of a day (shared) and a closure of that day (exclusive) exclude each
    other, so neither can miss the other committing. SQLite's BEGIN IMMEDIATE does this already.
    A shared lock this transaction already took (screening(..., guard_days=...)) is not asked for again."""
    if session.bind.dialect.name != "postgresql":
        return
    if not exclusive and day in session.info.get(GUARDED_DAYS, ()):
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}(:key)"), {"key": _day_key(day)})


_CLOSED_DATES = select(closures.c.date).where(_CLOSED_BETWEEN)


def closed_dates(session: Session, first: date, last: date) -> set[date]:
    return {r.date for r in session.execute(_CLOSED_DATES, {"first": first, "last": last})}


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


def future_starts(session: Session, client_id: str, now: datetime) -> list[datetime]:
    """When the client's confirmed bookings not yet started begin (the time their erasure frees)."""
    return list(session.execute(select(bookings.c.start_at).where(
        bookings.c.client_id == client_id, bookings.c.status == CONFIRMED, bookings.c.start_at > now)).scalars())


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
