"""Retention and erasure as plain rules (CLINIC.md "Screening", Retention; API.md "A client's data").

A client's data is kept `retention_days` after their last screening, booking or message, then erased.
This service sees screenings itself and bookings through their events; messages are never sent on their
own: each follows a screening (at once) or a booking, the last one (`next_session_reminder`) six weeks after
the session ends. So a booking keeps its client active until its end plus `FOLLOW_UP_MESSAGES`.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from clinic_shared.events import ERASING_SERVICES

FOLLOW_UP_MESSAGES = timedelta(weeks=8)  # beyond the latest message a booking causes (6 weeks after its end)
IN_PROGRESS, DONE, PENDING = "in_progress", "done", "pending"


def retention_cutoff(now: datetime, retention_days: float) -> datetime:
    """Clients last active before this are due for erasure."""
    return now - timedelta(days=retention_days)


def is_due(last_active_at: datetime, now: datetime, retention_days: float) -> bool:
    return last_active_at < retention_cutoff(now, retention_days)


def booking_activity(booking_end: datetime, occurred_at: datetime) -> datetime:
    """Until when a booking event keeps its client active: the change itself, or the last message the
    session can bring, whichever is later."""
    return max(occurred_at, booking_end + FOLLOW_UP_MESSAGES)


def erasure_progress(reported: set[str]) -> tuple[str, dict[str, str]]:
    """(status, {service: pending|done}) of an erasure, from the services that reported their part done."""
    services = {service: DONE if service in reported else PENDING for service in ERASING_SERVICES}
    return (DONE if all(state == DONE for state in services.values()) else IN_PROGRESS), services
