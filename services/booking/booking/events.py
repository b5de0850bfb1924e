"""Handlers of consumed events.

- The screening events keep the local projection of screenings (never the answers). Both versions are handled
  alike: version 2 carries the outcome only, and the reasons a version 1 event still in flight carried are
  dropped when it is parsed (clinic_shared.events).
  A screening event of an erased client is dropped.
- `client.erasure_requested` erases the client here (client_data.py).
- The service's own `booking.cancelled`, `booking.rescheduled` and `closure.deleted` offer the day's freed
  time to its waitlist (`WaitlistOffers.offer_freed_time`)."""
from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Callable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from clinic_shared.datetimes import parse_aware
from clinic_shared.db import dialect_insert, utcnow
from clinic_shared.erasure import guard_client, not_erased

from .client_data import erase_client
from .store.tables import erased_clients, screenings
from .waitlist_offers import WaitlistOffers


def _row(data: dict) -> dict:
    client = data["client"]
    return {
        "id": data["screening_id"],
        "client_id": data["client_id"],
        "client_name": client["name"],
        "client_email": client["email"],
        "client_phone": client.get("phone"),
        "areas": list(data["areas"]),
        "outcome": data["outcome"],
        "valid_until": parse_aware(data["valid_until"]),
        "updated_at": utcnow(),
    }


@functools.lru_cache(maxsize=None)
def _upsert_statement(dialect: str, cleared: bool):
    """The screening's row written in one statement, unless its client is erased (late news of an erased client
    brings nothing back). Built once per dialect: building a statement costs more than sending it."""
    columns = [column.name for column in screenings.c]
    values = (select(*(bindparam(name, type_=screenings.c[name].type) for name in columns))
              .where(not_erased(erased_clients, bindparam("client_id", type_=screenings.c.client_id.type))))
    insert = dialect_insert(dialect, screenings).from_select(columns, values)
    # A late `completed` never undoes a clearance, even one committed by another consumer meanwhile (the
    # conflicting row is locked and this condition checked on its latest version).
    return insert.on_conflict_do_update(index_elements=["id"],
                                        set_={name: insert.excluded[name] for name in columns if name != "id"},
                                        where=None if cleared else screenings.c.cleared.is_(False))


def _upsert(session: Session, data: dict, cleared: bool) -> None:
    guard_client(session, data["client_id"])  # an erasure running now commits before the write reads, or waits
    session.execute(_upsert_statement(session.get_bind().dialect.name, cleared), {**_row(data), "cleared": cleared})


def on_screening_completed(session: Session, data: dict, envelope: dict) -> None:
    _upsert(session, data, cleared=False)


def on_screening_cleared(session: Session, data: dict, envelope: dict) -> None:
    _upsert(session, data, cleared=True)


def erasure_handler(clock: Callable[[], datetime], offers: WaitlistOffers | None):
    def on_erasure_requested(session: Session, data: dict, envelope: dict) -> None:
        erase_client(session, data["client_id"], now=clock(), correlation_id=envelope.get("correlation_id"),
                     offers=offers)
    return on_erasure_requested


def waitlist_handlers(offers: WaitlistOffers) -> dict:
    """The freeing changes, each leading to offers on the day that time was freed on."""
    def freed_on(day_of):
        def handler(session: Session, data: dict, envelope: dict) -> None:
            offers.offer_freed_time(session, day_of(data), envelope.get("correlation_id"))
        return handler

    return {
        "booking.cancelled": freed_on(lambda data: offers.local_day(parse_aware(data["start"]))),
        "booking.rescheduled": freed_on(lambda data: offers.local_day(parse_aware(data["previous_start"]))),
        "closure.deleted": freed_on(lambda data: date.fromisoformat(data["date"])),
    }


def handlers(clock: Callable[[], datetime] = utcnow, offers: WaitlistOffers | None = None) -> dict:
    """Every consumed event's handler; `clock` says what "now" is (which bookings an erasure finds ahead);
    with `offers`, the waitlist's too (and an erasure passes on the time it frees)."""
    return {
        "screening.completed": on_screening_completed,
        "screening.cleared": on_screening_cleared,
        "client.erasure_requested": erasure_handler(clock, offers),
        **(waitlist_handlers(offers) if offers is not None else {}),
    }
