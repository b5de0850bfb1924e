"""Reading and writing messages and the bookings projection, inside a caller's transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, case, exists, literal_column, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from clinic_shared.db import dialect_insert
from clinic_shared.paging import Position, keyset
from clinic_shared.wakeups import notify

from ..domain.kinds import CANCELLATION, CANCELLED, FAILED, SCHEDULED, SENDING
from ..domain.rendering import Rendered
from .tables import Tables

DUE_NOW_CHANNEL = "notifications_due"  # NOTIFYed by a transaction that makes a message due now: wakes dispatchers


SHARED_BY_A_BOOKINGS_MESSAGES = ("source", "occasion", "booking_id", "client_id", "to_address", "to_name")
PER_MESSAGE = ("id", "kind", "subject", "body_text", "calendar", "send_at")
INSERTED_COLUMNS = ("id", "source", "kind", "occasion", "booking_id", "client_id", "to_address", "to_name", "subject",
                    "body_text", "calendar", "send_at", "not_before", "status", "attempts", "created_at", "updated_at")


@dataclass(frozen=True)
class NewMessage:
    """A message to schedule once per (source, kind, occasion), rendered, as `Repository.schedule_all` takes it."""

    source: str
    kind: str
    occasion: str
    send_at: datetime
    client_id: str
    to_address: str
    to_name: str
    rendered: Rendered
    booking_id: str | None = None
    calendar: str | None = None


class Repository:
    def __init__(self, tables: Tables):
        self.tables = tables
        self.n = tables.notifications
        self.b = tables.bookings
        self._statements: dict = {}  # (name, dialect) -> statement, see `_statement`

    # --- messages -----------------------------------------------------------------------------

    def schedule(self, session: Session, *, now: datetime, **message) -> bool:
        """Schedule a message (the fields of `NewMessage`) once per (source, kind, occasion); False when it
        already was."""
        return bool(self.schedule_all(session, [NewMessage(**message)], now))

    def schedule_all(self, session: Session, messages: list[NewMessage], now: datetime) -> list[NewMessage]:
        """Schedule messages, each once per (source, kind, occasion), in one INSERT (one per recipient and
        occasion: a booking's messages share them); those that were not scheduled before, in the order given."""
        ids = [str(uuid.uuid4()) for _ in messages]
        groups: dict[tuple, list[tuple[str, NewMessage]]] = {}
        for id_, message in zip(ids, messages):
            groups.setdefault(tuple(getattr(message, name) for name in SHARED_BY_A_BOOKINGS_MESSAGES), []).append(
                (id_, message))
        made = set()
        for shared, rows in groups.items():
            # RETURNING, not rowcount: on PostgreSQL the rowcount of an INSERT … ON CONFLICT was never 1.
            made.update(session.scalars(self._statement(session, ("schedule", len(rows)), lambda dialect: (
                self._schedule_statement(dialect, len(rows)))), self._schedule_parameters(shared, rows, now)))
        return [m for id_, m in zip(ids, messages) if id_ in made]

    @staticmethod
    def _schedule_parameters(shared: tuple, rows: list[tuple[str, NewMessage]], now: datetime) -> dict:
        parameters = {**dict(zip(SHARED_BY_A_BOOKINGS_MESSAGES, shared)), "status": SCHEDULED, "attempts": 0,
                      "now": now}
        for n, (id_, message) in enumerate(rows):
            parameters.update({f"id_{n}": id_, f"kind_{n}": message.kind, f"subject_{n}": message.rendered.subject,
                               f"body_text_{n}": message.rendered.text, f"calendar_{n}": message.calendar,
                               f"send_at_{n}": message.send_at})
        return parameters

    def _schedule_statement(self, dialect: str, count: int):
        """INSERT … VALUES of `count` rows … ON CONFLICT DO NOTHING RETURNING id, what the rows share given once.

        Written as SQL text (with typed parameters): SQLAlchemy does not cache a multi-row VALUES construct's
        compiled form, and its executemany ("insertmanyvalues") gives each row its own copy of every parameter, 85
        for a booking's five messages, past the 50 up to which psycopg keeps a statement's conversion to its `$1`
        form: it parsed the long statement again on every execution, the larger part of the INSERT's CPU. Here
        they are 39, and SQLAlchemy caches the text's compiled form like any statement's."""
        parameters = {name: bindparam(name, type_=self.n.c[name].type)
                      for name in (*SHARED_BY_A_BOOKINGS_MESSAGES, "status", "attempts")}
        parameters["now"] = bindparam("now", type_=self.n.c.created_at.type)
        rows = []
        for n in range(count):
            for name in PER_MESSAGE:
                parameters[f"{name}_{n}"] = bindparam(f"{name}_{n}", type_=self.n.c[name].type)
            given = {**{name: f":{name}_{n}" for name in PER_MESSAGE}, "not_before": f":send_at_{n}",
                     "created_at": ":now", "updated_at": ":now"}
            rows.append("(" + ", ".join(given.get(column, f":{column}") for column in INSERTED_COLUMNS) + ")")
        returning = "id"
        if dialect == "postgresql":
            # A row made due now (send_at is its created_at, the transaction's now) wakes the dispatchers (NOTIFY,
            # delivered at commit, as `clinic_shared.wakeups.notify` would), in the INSERT itself: no statement
            # of its own. A row that was there already is not returned, so it wakes nobody.
            returning += f", CASE WHEN send_at <= created_at THEN pg_notify('{DUE_NOW_CHANNEL}', '') END"
        return text(f"INSERT INTO {self.n.name} ({', '.join(INSERTED_COLUMNS)}) VALUES {', '.join(rows)} "
                    f"ON CONFLICT (source, kind, occasion) DO NOTHING RETURNING {returning}"
                    ).bindparams(*parameters.values()).columns(self.n.c.id)

    def _statement(self, executor: Session | Connection, name, build):
        """The statement `name`, built once per dialect: building a SQLAlchemy statement and its cache key
        costs more CPU than sending it (SQLAlchemy caches the compiled form, keyed by the statement)."""
        dialect = (executor.get_bind() if isinstance(executor, Session) else executor).dialect.name
        statement = self._statements.get((name, dialect))
        if statement is None:
            statement = self._statements[(name, dialect)] = build(dialect)
        return statement

    def claim_statement(self, executor: Session | Connection):
        """One UPDATE … RETURNING that claims the next claimable message (`claimable`, earliest first) and
        returns its row as claimed: `sending`, attempts + 1, leased until :claim_lease_expires_at (parameters:
        claim_now, claim_lease_expires_at), with `more_due` and `holds_back` (`_after_the_claim`). Two dispatchers
        never take one row: on PostgreSQL the subquery locks its pick FOR UPDATE SKIP LOCKED, on SQLite BEGIN
        IMMEDIATE holds the write lock."""
        return self._statement(executor, "claim", self._claim_statement)

    def _claim_statement(self, dialect: str):
        now = bindparam("claim_now", type_=self.n.c.not_before.type)
        candidate = self.n.alias("candidate")  # not the UPDATE's own table: the pick is not correlated with it
        pick = (select(candidate.c.id).where(claimable(candidate, now))
                .order_by(candidate.c.not_before, candidate.c.id).limit(1))
        if dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        return (update(self.n).where(self.n.c.id == pick.scalar_subquery())
                .values(status=SENDING, attempts=self.n.c.attempts + 1, updated_at=now,
                        lease_expires_at=bindparam("claim_lease_expires_at", type_=self.n.c.lease_expires_at.type))
                .returning(*self.n.c, *self._after_the_claim(now)))

    def _after_the_claim(self, now):
        """What else is due besides the claimed message, as the dispatcher's next steps need it:
        - `more_due`: another message is due (claimable, or held back by a sibling being sent); without one,
          the round ends here instead of claiming once more for nothing;
        - `holds_back`: one of them is the claimed message's booking's, held back by it: the dispatcher then
          claims again once it is sent, and only then."""
        # The claimed row's columns named with their table: SQLAlchemy writes a RETURNING clause's columns
        # without it on SQLite, inside a subquery too, where `booking_id` alone would be the subquery's own.
        claimed_booking_id, claimed_id = (literal_column(f"{self.n.name}.{name}") for name in ("booking_id", "id"))
        other, held = self.n.alias("other"), self.n.alias("held")
        return (exists().where(other.c.id != claimed_id, claimable_but_for_siblings(other, now)).label("more_due"),
                exists().where(held.c.booking_id == claimed_booking_id, held.c.id != claimed_id,
                               claimable_but_for_siblings(held, now)).label("holds_back"))

    def finish_claim(self, executor: Session | Connection, claimed, **values) -> None:
        """Record the outcome of a claim (the row `claim_statement` returned), only while the row is still that
        claim (`sending`, the same attempts): if its lease ran out and another dispatcher took it, that one
        finishes it."""
        names = tuple(sorted(values))
        statement = self._statement(executor, ("finish_claim", names), lambda _dialect: (
            update(self.n).where(self.n.c.id == bindparam("claimed_id"), self.n.c.status == SENDING,
                                 self.n.c.attempts == bindparam("claimed_attempts"))
            .values({name: bindparam(f"new_{name}", type_=self.n.c[name].type) for name in names})))
        executor.execute(statement, {"claimed_id": claimed.id, "claimed_attempts": claimed.attempts,
                                     **{f"new_{name}": value for name, value in values.items()}})

    def message_now(self, session: Session | Connection, notification_id: str):
        """A message's address as it is now, with its booking's projected status, client and start (None when
        it has no booking or none is projected), in one read; None when there is no such message."""
        return session.execute(self._statement(session, "message_now", self._message_now_statement),
                               {"message_id": notification_id}).first()

    def _message_now_statement(self, _dialect: str):
        return (select(self.n.c.to_address, self.b.c.status.label("booking_status"),
                       self.b.c.client_id.label("booking_client_id"), self.b.c.start.label("booking_start"))
                .select_from(self.n.outerjoin(self.b, self.b.c.booking_id == self.n.c.booking_id))
                .where(self.n.c.id == bindparam("message_id")))

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

    def of_client(self, session: Session, client_id: str) -> list:
        """Every message of a client, by (send_at, id): their export, which is never paged."""
        return session.execute(select(self.n).where(self.n.c.client_id == client_id)
                               .order_by(self.n.c.send_at, self.n.c.id)).all()

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

    def lock_booking(self, session: Session, booking_id: str, now: datetime, *, status: str, calendar_sequence: int,
                     version: int | None, **facts):
        """The projected booking, locked until commit, or None when no event of it was applied before: two
        events of one booking handled at once by two consumers apply one after the other, the first two too.

        A lock on a row that does not exist yet locks nothing: both consumers would take the booking for new,
        and the later write would undo the earlier one (a late confirmation undoing a cancellation). So the
        row is made first when missing, from the event's `facts`, already as the event projects a booking heard
        of for the first time (`status`, `calendar_sequence`, `version`: the first event is always news, so
        nothing is left to write, and the row exists only inside this transaction until it commits);
        INSERT … ON CONFLICT DO NOTHING waits for another transaction inserting the same booking, and then
        finds its row."""
        made = session.execute(self._statement(session, "make_booking", self._make_booking_statement), dict(
            booking_id=booking_id, status=status, calendar_sequence=calendar_sequence, version=version,
            updated_at=now, **facts)).first()
        if made is not None:
            return None
        return session.execute(self._statement(session, "lock_known_booking", self._lock_booking_statement),
                               {"locked_booking_id": booking_id}).first()

    def _lock_booking_statement(self, _dialect: str):
        return select(self.b).where(self.b.c.booking_id == bindparam("locked_booking_id")).with_for_update()

    def _make_booking_statement(self, dialect: str):
        return (dialect_insert(dialect, self.b).on_conflict_do_nothing(index_elements=["booking_id"])
                .returning(self.b.c.booking_id))

    def save_booking(self, session: Session, booking_id: str, now: datetime, **values) -> None:
        """Project an event on the row `lock_booking` made or locked in this transaction."""
        values["updated_at"] = now
        names = tuple(sorted(values))
        statement = self._statement(session, ("save_booking", names), lambda _dialect: (
            update(self.b).where(self.b.c.booking_id == bindparam("key_booking_id"))
            .values({name: bindparam(f"new_{name}", type_=self.b.c[name].type) for name in names})))
        session.execute(statement, {"key_booking_id": booking_id, **{f"new_{k}": v for k, v in values.items()}})

    def has_later_treatment(self, session: Session | Connection, client_id: str, booking_id: str, after: datetime) -> bool:
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
    return and_(claimable_but_for_siblings(table, now), or_(table.c.booking_id.is_(None), ~sibling_in_flight))


def claimable_but_for_siblings(table, now: datetime):
    """Due and scheduled, or `sending` with an expired lease."""
    return or_(and_(table.c.status == SCHEDULED, table.c.not_before <= now),
               and_(table.c.status == SENDING, table.c.lease_expires_at <= now))
