"""Handlers of the events this service consumes, each inside the inbox transaction (clinic_shared.inbox).

- `client.erased`: a service's report that its part of an erasure is done (this service owns the record).
- the booking events: the client was active (the retention job's measure); nothing else of them is kept.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from clinic_shared.datetimes import parse_aware
from clinic_shared.db import utcnow
from clinic_shared.topology import BOOKING_EVENTS

from .client_data import note_booking, on_service_erased


def on_client_erased(session: Session, data: dict, envelope: dict) -> None:
    on_service_erased(session, data["client_id"], data["service"], utcnow())


def on_booking_event(session: Session, data: dict, envelope: dict) -> None:
    note_booking(session, data["client_id"], parse_aware(data["end"]), parse_aware(envelope["occurred_at"]))


HANDLERS = {"client.erased": on_client_erased, **{event: on_booking_event for event in BOOKING_EVENTS}}
