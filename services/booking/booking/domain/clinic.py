"""The clinic's numbers as one plain value, built by `booking.settings` from defaults and environment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from clinic_shared.catalog import TreatmentArea as Area  # noqa: F401  (the booking rules call it Area)

# A booking starts and ends inside one open day's hours (hours.check_opening_hours): on the longest local day
# (the autumn DST night) that is under 25 hours of real time. It blocks its practitioner turnover longer, and
# turnover is at most MAX_TURNOVER_MINUTES (ClinicRules refuses more). So no booking blocks for LONGEST_BLOCK or
# more: the reads of the bookings around a time look back that far and no further (store.repository), whichever
# rules held when each booking was made.
MAX_TURNOVER_MINUTES = 12 * 60
LONGEST_BLOCK = timedelta(hours=25, minutes=MAX_TURNOVER_MINUTES)


@dataclass(frozen=True)
class Practitioner:
    id: str
    name: str


@dataclass(frozen=True)
class ClinicRules:
    timezone: ZoneInfo
    open_weekdays: frozenset[int]  # Monday is 0, as datetime.weekday()
    opens: time
    closes: time
    slot_minutes: int
    turnover_minutes: int
    min_notice_minutes: int
    horizon_days: int
    areas: tuple[Area, ...]
    max_session_minutes: int
    consultation_minutes: int
    practitioners: tuple[Practitioner, ...]
    spacing_days: int
    course_sessions: tuple[int, int]  # inclusive bounds
    course_interval_weeks: tuple[int, int]  # inclusive bounds
    change_notice_hours: int = 24  # a client may cancel or reschedule up to this long before the start
    contact_phone: str = "+44 20 7946 0000"  # how to reach the clinic when it is too late to change online
    contact_email: str = "hello@ikclinics.example"

    def __post_init__(self):
        if not 0 <= self.turnover_minutes <= MAX_TURNOVER_MINUTES:  # LONGEST_BLOCK counts on it
            raise ValueError(f"turnover_minutes must be between 0 and {MAX_TURNOVER_MINUTES}")

    def area(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def practitioner(self, practitioner_id: str) -> Practitioner | None:
        return next((p for p in self.practitioners if p.id == practitioner_id), None)
