"""A booking's life: confirmed, then cancelled or completed, and nothing after that (CLINIC.md, API.md).

Every change raises the booking's version by one, so whoever hears of the booking can tell a late
event (a version it has already passed) from a new one.
"""
from __future__ import annotations

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
COMPLETED = "completed"
FIRST_VERSION = 1


def can_change(status: str) -> bool:
    """Only a confirmed booking can be cancelled, rescheduled or completed."""
    return status == CONFIRMED


def next_version(version: int) -> int:
    return version + 1
