"""When each message of a booking is due (CLINIC.md "Messages")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from .kinds import (AFTERCARE, AFTERCARE_CHECK_IN, APPOINTMENT_REMINDER, CONSULTATION_CONFIRMATION,
                    NEXT_SESSION_REMINDER, PRE_TREATMENT)

TREATMENT = "treatment"
CONSULTATION = "consultation"
SCREENING_OUTCOMES_WITH_MESSAGE = ("consultation_required", "not_suitable")


class Timings(Protocol):
    reminder_before: timedelta
    aftercare_after_end: timedelta
    check_in_after_end: timedelta
    next_session_after_end: timedelta


@dataclass(frozen=True)
class Planned:
    kind: str
    send_at: datetime


def confirmation_kind(booking_type: str) -> str:
    """The message sent at once when a booking is confirmed (and again when it is rescheduled)."""
    return CONSULTATION_CONFIRMATION if booking_type == CONSULTATION else PRE_TREATMENT


def reminder_applies(start: datetime, now: datetime, timings: Timings) -> bool:
    """A reminder is only scheduled for a booking made at least `reminder_before` ahead."""
    return start - timings.reminder_before >= now


def timed_messages(booking_type: str, start: datetime, end: datetime, now: datetime,
                   timings: Timings) -> list[Planned]:
    """The messages of a booking due at a time that depends on its start or end, earliest first."""
    planned = []
    if reminder_applies(start, now, timings):
        planned.append(Planned(APPOINTMENT_REMINDER, start - timings.reminder_before))
    if booking_type == TREATMENT:
        planned.append(Planned(AFTERCARE, end + timings.aftercare_after_end))
        planned.append(Planned(AFTERCARE_CHECK_IN, end + timings.check_in_after_end))
        planned.append(Planned(NEXT_SESSION_REMINDER, end + timings.next_session_after_end))
    return planned


def confirmation_plan(booking_type: str, start: datetime, end: datetime, now: datetime,
                      timings: Timings) -> list[Planned]:
    """Every message a newly confirmed booking schedules."""
    return [Planned(confirmation_kind(booking_type), now)] + timed_messages(booking_type, start, end, now, timings)


def completion_times(completed_at: datetime, aftercare_due: datetime | None,
                     timings: Timings) -> dict[str, datetime]:
    """Follow-ups of a session staff marked completed: aftercare at once if it was due later;
    the check-in and the next-session reminder counted from the completion."""
    aftercare = completed_at if aftercare_due is None else min(aftercare_due, completed_at)
    return {
        AFTERCARE: aftercare,
        AFTERCARE_CHECK_IN: completed_at + timings.check_in_after_end,
        NEXT_SESSION_REMINDER: completed_at + timings.next_session_after_end,
    }


def screening_sends_result(outcome: str) -> bool:
    return outcome in SCREENING_OUTCOMES_WITH_MESSAGE


def retry_delay(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt (1, 2, 4, … times `base`, at most `cap`)."""
    return min(cap, base * (2 ** max(0, attempts - 1)))
