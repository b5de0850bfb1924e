"""Changes by the client (CLINIC.md "Treatments"): a client may cancel or reschedule up to the change notice
(24 hours by default) before the start; later, they call the clinic, and staff may change it at any time.

The notice is counted in elapsed hours, not wall-clock ones: on the night the clocks change, "24 hours
before 10:00" is 09:00 or 11:00 the day before, which is what a client is promised.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from clinic_shared.datetimes import to_local_iso

from .violations import RuleViolation

TOO_LATE_TO_CHANGE = "too_late_to_change"


@dataclass(frozen=True)
class Contact:
    """How a client reaches the clinic when it is too late to change a booking online."""

    phone: str
    email: str

    def as_details(self) -> dict:
        return {"phone": self.phone, "email": self.email}


def change_deadline(start: datetime, notice_hours: int) -> datetime:
    """The last moment a client may still cancel or reschedule a booking that starts at `start`.

    In UTC: Python subtracts wall-clock time from an aware datetime in its own zone, which on the
    day after a clock change would give 23 or 25 elapsed hours."""
    return start.astimezone(timezone.utc) - timedelta(hours=notice_hours)


def client_may_change(start: datetime, now: datetime, notice_hours: int) -> bool:
    return now <= change_deadline(start, notice_hours)


def check_change_allowed(start: datetime, now: datetime, notice_hours: int, by_staff: bool,
                         contact: Contact, timezone) -> None:
    """Raise `too_late_to_change` when a client (not staff) changes a booking inside the notice."""
    if by_staff or client_may_change(start, now, notice_hours):
        return
    deadline = change_deadline(start, notice_hours)
    raise RuleViolation(
        TOO_LATE_TO_CHANGE,
        f"This booking can no longer be changed online: changes are possible up to {notice_hours} hours "
        f"before the start. Please call us on {contact.phone} or write to {contact.email}.",
        {"contact": contact.as_details(), "notice_hours": notice_hours,
         "changeable_until": to_local_iso(deadline, timezone)})
