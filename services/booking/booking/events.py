"""Handlers of consumed events.

- The screening events keep the local projection of screenings (never the answers). Both versions are handled
  alike: version 2 carries the outcome only, and the reasons a version 1 event still in flight carried are
  dropped when it is parsed (clinic_shared.events).
  A screening event of an erased client is dropped.
- `client.erasure_requested` erases the client here (client_data.py).
- The service's own `booking.cancelled`, `booking.rescheduled` and `closure.deleted` offer the day's freed
  time to its waitlist (`WaitlistOffers.offer_freed_time`)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic_shared.datetimes import parse_aware
from clinic_shared.db import utcnow

from .client_data import client_erased, erase_client
from .store.tables import screenings
from .waitlist_offers import WaitlistOffers


def _row(data: dict) -> dict:
    client = data["client"]
    return {
        "client_id": data["client_id"],
        "client_name": client["name"],
        "client_email": client["email"],
        "client_phone": client.get("phone"),
        "areas": list(data["areas"]),
        "outcome": data["outcome"],
        "valid_until": parse_aware(data["valid_until"]),
        "updated_at": utcnow(),
    }


def _upsert(session: Session, screening_id: str, values: dict, cleared: bool) -> None:
    existing = session.execute(select(screenings.c.cleared).where(screenings.c.id == screening_id)).first()
    if existing is None:
        # Two first events at once: one insert fails, and its event is retried and finds the row.
        session.execute(screenings.insert().values(id=screening_id, cleared=cleared, **values))
        return
    statement = update(screenings).where(screenings.c.id == screening_id)
    if not cleared:
        # A late `completed` never undoes a clearance, even one committed by another consumer since the
        # read above (PostgreSQL checks this condition again on the row it waited for).
        statement = statement.where(screenings.c.cleared.is_(False))
    session.execute(statement.values(cleared=cleared, **values))


def on_screening_completed(session: Session, data: dict, envelope: dict) -> None:
    if not client_erased(session, data["client_id"]):  # late news of an erased client brings nothing back
        _upsert(session, data["screening_id"], _row(data), cleared=False)


def on_screening_cleared(session: Session, data: dict, envelope: dict) -> None:
    if not client_erased(session, data["client_id"]):
        _upsert(session, data["screening_id"], _row(data), cleared=True)


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
