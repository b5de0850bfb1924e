"""Handlers of the screening events: keep the local projection of screenings (never the answers); and of
`client.erasure_requested`: erase the client here (client_data.py). A screening event of an erased client is dropped.

Both versions of the events are handled alike: version 2 carries the outcome only, and the reasons a
version 1 event still in flight carried are dropped when it is parsed (clinic_shared.events)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic_shared.datetimes import parse_aware
from clinic_shared.db import utcnow

from .client_data import client_erased, erase_client
from .store.tables import screenings


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


def erasure_handler(clock: Callable[[], datetime]):
    def on_erasure_requested(session: Session, data: dict, envelope: dict) -> None:
        erase_client(session, data["client_id"], now=clock(), correlation_id=envelope.get("correlation_id"))
    return on_erasure_requested


def handlers(clock: Callable[[], datetime] = utcnow) -> dict:
    """Every consumed event's handler; `clock` says what "now" is (which bookings an erasure finds ahead)."""
    return {
        "screening.completed": on_screening_completed,
        "screening.cleared": on_screening_cleared,
        "client.erasure_requested": erasure_handler(clock),
    }
