"""Which booking events still say something new, whatever order they arrive in (late, twice, replayed).

A booking event carries the booking's version (`data.version`: 1 when booked, one more with every change).
This service remembers the newest version it applied per booking; an older or equal one is old news.
A cancelled booking stays cancelled: after its cancellation nothing else is applied, so it never gets
another message. Events without a version (published before the booking service raised versions,
still in flight at the upgrade) are ordered by the booking's state alone, as before: nothing after a
cancellation or a completion.
"""
from __future__ import annotations

from dataclasses import dataclass

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
COMPLETED = "completed"


@dataclass(frozen=True)
class Known:
    """What was applied of a booking so far."""

    status: str
    version: int | None  # None: only events without a version were applied


def is_news(event_version: int | None, known: Known | None) -> bool:
    if known is None:
        return True  # the first we hear of this booking, whichever event it is
    if known.status == CANCELLED:
        return False  # its cancellation is scheduled; nothing may follow it
    if event_version is None or known.version is None:
        return known.status != COMPLETED
    return event_version > known.version


def calendar_sequence(by_arrival: int, event_version: int | None) -> int:
    """The iCalendar SEQUENCE of an invitation or cancellation: `by_arrival` counts the changes this
    service has seen; the version, when there is one, makes it the same whatever the order of arrival
    (version 1 is sequence 0) and never lower than one already sent."""
    return by_arrival if event_version is None else max(by_arrival, event_version - 1)
