"""Reading and writing messages and the bookings projection, inside a caller's transaction."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, case, exists, or_, select, update
from sqlalchemy.orm import Session

from clinic_shared.paging import Position, keyset
from clinic_shared.wakeups import notify

from ..domain.kinds import CANCELLATION, CANCELLED, FAILED, SCHEDULED, SENDING
from ..domain.rendering import Rendered
from .tables import Tables

NEW = "new"  # a projected booking's status only inside the transaction that made its row (`lock_booking`)
DUE_NOW_CHANNEL = "notifications_due"  # NOTIFYed by a transaction that makes a message due now: wakes dispatchers


def dialect_insert(session: Session, table):
    """INSERT that can skip a row whose unique key exists (ON CONFLICT DO NOTHING) on both databases."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


class Repository:
    def __init__(self, tables: Tables):
        self.tables = tables
        self.n = tables.notifications
        self.b = tables.bookings

    # --- messages -----------------------------------------------------------------------------

    def schedule(self, session: Session, *, source: str, kind: str, occasion: str, send_at: datetime,
                 client_id: str, to_address: str, to_name: str, rendered: Rendered, now: datetime,
                 booking_id: str | None = None, calendar: str | None = None) -> bool:
        """Schedule a message once per (source, kind, occasion); False when it already was."""
        statement = dialect_insert(session, self.n).values(
            id=str(uuid.uuid4()), source=source, kind=kind, occasion=occasion, booking_id=booking_id,
            client_id=client_id, to_address=to_address, to_name=to_name, subject=rendered.subject,
            body_text=rendered.text, calendar=calendar, send_at=send_at, not_before=send_at,
            status=SCHEDULED, attempts=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["source", "kind", "occasion"]).returning(self.n.c.id)
        # RETURNING, not rowcount: on PostgreSQL the rowcount of this INSERT … ON CONFLICT was never 1.
        scheduled = session.execute(statement).first() is not None
        if scheduled and send_at <= now:
            notify(session, DUE_NOW_CHANNEL)
        return scheduled

    def scheduled_of_booking(self, session: Session, booking_id: str) -> list:
        """The booking's messages nobody has started sending yet."""
        return session.execute(select(self.n).where(self.n.c.booking_id == booking_id,
                                                    self.n.c.status == SCHEDULED)).all()

    def kinds_of_booking(self, session: Session, booking_id: str) -> set[str]:
        return set(session.scalars(select(self.n.c.kind).where(self.n.c.booking_id == booking_id)))

    def move(self, session: Session, notification_id: str, send_at: datetime, now: datetime,
             rendered: Rendered | None = None) -> None:
        values = {"send_at": send_at, "not_before": send_at, "updated_at": now}
        if rendered is not None:
            values.update(subject=rendered.subject, body_text=rendered.text)
        # Only while still scheduled: a dispatcher may have claimed it in the meantime.
        session.execute(update(self.n).where(self.n.c.id == notification_id, self.n.c.status == SCHEDULED)
                        .values(**values))

    def cancel(self, session: Session, notification_ids: list[str], why: str, now: datetime) -> None:
        if notification_ids:
            session.execute(update(self.n).where(self.n.c.id.in_(notification_ids), self.n.c.status == SCHEDULED)
                            .values(status=CANCELLED, last_error=why, updated_at=now))

    def retry(self, session: Session, notification_id: str, now: datetime) -> bool:
        """A `failed` message becomes `scheduled` again, due now (and given a fresh give-up time from
        now); False when it is not failed (or does not exist)."""
        retried = session.execute(update(self.n).where(self.n.c.id == notification_id, self.n.c.status == FAILED)
                                  .values(status=SCHEDULED, send_at=now, not_before=now, lease_expires_at=None,
                                          updated_at=now))
        if retried.rowcount == 1:
            notify(session, DUE_NOW_CHANNEL)
        return retried.rowcount == 1

    def get(self, session: Session, notification_id: str):
        return session.execute(select(self.n).where(self.n.c.id == notification_id)).first()

    def of_client(self, session: Session, client_id: str) -> list:
        """Every message of the client, by (send_at, id): their export."""
        return session.execute(select(self.n).where(self.n.c.client_id == client_id)
                               .order_by(self.n.c.send_at, self.n.c.id)).all()

    def page(self, session: Session, *, booking_id: str | None = None, client_id: str | None = None,
             statuses: tuple[str, ...] | None = None, limit: int, after: Position | None = None) -> list:
        """GET /api/notifications: by (send_at, id) from after `after`, up to `limit` + 1 rows, the extra one
        saying that there is a next page (clinic_shared.paging)."""
        query = select(self.n)
        if booking_id is not None:
            query = query.where(self.n.c.booking_id == booking_id)
        if client_id is not None:
            query = query.where(self.n.c.client_id == client_id)
        if statuses is not None:
            query = query.where(self.n.c.status.in_(statuses))
        return session.execute(keyset(query, self.n.c.send_at, self.n.c.id, after, limit)).all()

    def newest_calendar(self, session: Session, booking_id: str, client_id: str | None = None) -> str | None:
        """The booking's calendar file as last planned: its cancellation (final), else its newest invitation."""
        query = select(self.n.c.calendar).where(self.n.c.booking_id == booking_id, self.n.c.calendar.is_not(None))
        if client_id is not None:
            query = query.where(self.n.c.client_id == client_id)
        cancellation_first = case((self.n.c.kind == CANCELLATION, 0), else_=1)
        return session.execute(query.order_by(cancellation_first, self.n.c.created_at.desc(), self.n.c.id.desc())
                               .limit(1)).scalar()

    # --- bookings projection ------------------------------------------------------------------

    def booking(self, session: Session, booking_id: str, lock: bool = False):
        """The projected booking; with `lock`, its row stays locked until commit (FOR UPDATE on PostgreSQL)."""
        query = select(self.b).where(self.b.c.booking_id == booking_id)
        return session.execute(query.with_for_update() if lock else query).first()

    def lock_booking(self, session: Session, booking_id: str, now: datetime, **facts):
        """The projected booking, locked until commit, or None when no event of it was applied before: two
        events of one booking handled at once by two consumers apply one after the other, the first two too.

        A lock on a row that does not exist yet locks nothing: both consumers would take the booking for new,
        and the later write would undo the earlier one (a late confirmation undoing a cancellation). So the
        row is made first when missing, from the event's `facts`, with status NEW until the caller projects
        the event in this same transaction; INSERT … ON CONFLICT DO NOTHING waits for another transaction
        inserting the same booking, and then finds its row."""
        made = session.execute(dialect_insert(session, self.b).values(
            booking_id=booking_id, status=NEW, calendar_sequence=0, updated_at=now, **facts,
        ).on_conflict_do_nothing(index_elements=["booking_id"]).returning(self.b.c.booking_id)).first()
        return None if made is not None else self.booking(session, booking_id, lock=True)

    def save_booking(self, session: Session, booking_id: str, now: datetime, **values) -> None:
        """Project an event on the row `lock_booking` made or locked in this transaction."""
        session.execute(update(self.b).where(self.b.c.booking_id == booking_id).values(updated_at=now, **values))

    def has_later_treatment(self, session: Session, client_id: str, booking_id: str, after: datetime) -> bool:
        """Does the client hold another treatment (booked or done) starting after `after`?"""
        found = session.execute(select(self.b.c.booking_id).where(
            self.b.c.client_id == client_id, self.b.c.booking_id != booking_id,
            self.b.c.type == "treatment", self.b.c.status.in_(("confirmed", "completed")),
            self.b.c.start > after).limit(1)).first()
        return found is not None


def claimable(table, now: datetime):
    """Rows a dispatcher may claim: due and scheduled, or `sending` with an expired lease; and never while
    another message of the same booking is being sent. A booking's messages go out one at a time, in the
    order they are claimed, so a cancellation can never overtake an invitation another dispatcher holds."""
    sibling = table.alias("sibling")
    sibling_in_flight = exists().where(sibling.c.booking_id == table.c.booking_id, sibling.c.id != table.c.id,
                                       sibling.c.status == SENDING, sibling.c.lease_expires_at > now)
    return and_(or_(and_(table.c.status == SCHEDULED, table.c.not_before <= now),
                    and_(table.c.status == SENDING, table.c.lease_expires_at <= now)),
                or_(table.c.booking_id.is_(None), ~sibling_in_flight))
