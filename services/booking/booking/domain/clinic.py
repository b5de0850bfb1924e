"""The clinic's numbers as one plain value, built by `booking.settings` from defaults and environment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from clinic_shared.catalog import TreatmentArea as Area  # noqa: F401  (the booking rules call it Area)


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

    def area(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def practitioner(self, practitioner_id: str) -> Practitioner | None:
        return next((p for p in self.practitioners if p.id == practitioner_id), None)
