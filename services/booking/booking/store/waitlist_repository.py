"""Reads and writes of waitlist entries and their offers, inside a caller's transaction.

Every change of status is conditional on the status it was read in (`WHERE status = …`), so of two
concurrent changes of one entry only one takes effect; callers check the row count."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from clinic_shared.paging import Position, keyset

from ..domain.practitioners import Busy
from ..domain.waitlist import ACTIVE, BOOKED, EXPIRED, OFFERED, WAITING, Offer
from .tables import waitlist


def insert(session: Session, **values) -> None:
    session.execute(waitlist.insert().values(**values))


def entry(session: Session, entry_id: str):
    return session.execute(select(waitlist).where(waitlist.c.id == entry_id)).first()


def active_entry(session: Session, client_id: str, day: date):
    return session.execute(select(waitlist).where(
        waitlist.c.client_id == client_id, waitlist.c.date == day, waitlist.c.status.in_(ACTIVE))).first()


def entry_page(session: Session, client_id: str | None, day: date | None, *, limit: int,
               after: Position | None):
    """A page in the order the entries joined (created_at, id): on one date, the order the waitlist serves them;
    one row more than `limit` when there is a next page (clinic_shared.paging)."""
    query = select(waitlist)
    if client_id is not None:
        query = query.where(waitlist.c.client_id == client_id)
    if day is not None:
        query = query.where(waitlist.c.date == day)
    return session.execute(keyset(query, waitlist.c.created_at, waitlist.c.id, after, limit)).all()


def has_waiting(session: Session, day: date) -> bool:
    return session.execute(select(waitlist.c.id).where(
        waitlist.c.date == day, waitlist.c.status == WAITING).limit(1)).first() is not None


def waiting_on(session: Session, day: date):
    """The day's waiting entries, oldest first: the order offers go in."""
    return session.execute(select(waitlist).where(waitlist.c.date == day, waitlist.c.status == WAITING)
                           .order_by(waitlist.c.created_at, waitlist.c.id)).all()


def held_in(start, end):
    """The condition of an offered entry whose time could clash with anything in [start, end). Its rows are read
    with the bookings around (repository._with_held: busy_and_held, busy_held_and_closed, around_a_session): each
    names whom it is for (`client_id`), its time (`practitioner_id`, `start`, `end`, `type`) and until when it is
    held (`expires_at`; one that ran out still counts for its own client until the expiry job has passed it on).
    Unlike the bookings' read it needs no lower bound on the start: only entries on offer match, few at any time
    (each for at most the hold), and ix_waitlist_status_expires finds them by status."""
    return and_(waitlist.c.status == OFFERED, waitlist.c.offer_start < end, waitlist.c.offer_blocked_until > start)


def as_busy(held, now: datetime, except_client: str | None = None) -> list[Busy]:
    """Offers held at `now` as busy time: like a confirmed booking for everyone but the client each is held for."""
    return [Busy(h.practitioner_id, h.start, h.end) for h in held if h.expires_at > now and h.client_id != except_client]


def offer(session: Session, entry_id: str, made: Offer, blocked_until: datetime, now: datetime) -> int:
    """Hold `made` for a waiting entry; 0 when the entry is no longer waiting."""
    return session.execute(update(waitlist).where(waitlist.c.id == entry_id, waitlist.c.status == WAITING).values(
        status=OFFERED, offer_start=made.start, offer_end=made.end, offer_blocked_until=blocked_until,
        offer_practitioner_id=made.practitioner.id, offered_at=now, expires_at=made.expires_at,
        updated_at=now)).rowcount


def mark_booked(session: Session, client_id: str, booking_type: str, start: datetime, booking_id: str,
                now: datetime) -> int:
    """The client booked the time offered to them: their offered entry (one per date at most) is booked."""
    return session.execute(update(waitlist).where(
        waitlist.c.client_id == client_id, waitlist.c.status == OFFERED, waitlist.c.type == booking_type,
        waitlist.c.offer_start == start,
    ).values(status=BOOKED, booking_id=booking_id, updated_at=now)).rowcount


def days_with_expired_offers(session: Session, now: datetime, limit: int = 100) -> list[date]:
    rows = session.execute(select(waitlist.c.date).where(waitlist.c.status == OFFERED, waitlist.c.expires_at <= now)
                           .group_by(waitlist.c.date).order_by(waitlist.c.date).limit(limit)).all()
    return [r.date for r in rows]


def expire_offers(session: Session, day: date, now: datetime) -> int:
    return session.execute(update(waitlist).where(
        waitlist.c.date == day, waitlist.c.status == OFFERED, waitlist.c.expires_at <= now,
    ).values(status=EXPIRED, updated_at=now)).rowcount


def remove(session: Session, entry_id: str) -> int:
    return session.execute(delete(waitlist).where(waitlist.c.id == entry_id)).rowcount


def entries_of_client(session: Session, client_id: str):
    """Every entry of the client, in the order they joined (their export)."""
    return session.execute(select(waitlist).where(waitlist.c.client_id == client_id)
                           .order_by(waitlist.c.created_at, waitlist.c.id)).all()


def remove_of_client(session: Session, client_id: str) -> list[date]:
    """Delete every entry of the client (their erasure: entries are no clinic record); the days on which one
    of them held time, which is free again."""
    held = session.execute(select(waitlist.c.date).where(
        waitlist.c.client_id == client_id, waitlist.c.status == OFFERED).distinct()).scalars().all()
    session.execute(delete(waitlist).where(waitlist.c.client_id == client_id))
    return sorted(held)
