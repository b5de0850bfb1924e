"""All the clinic's rules for one session at one time, in the order a person would want to hear them."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Collection, Iterable, Sequence

from .clinic import ClinicRules
from .hours import check_grid, check_opening_hours
from .spacing import check_spacing
from .timing import check_notice
from .treatments import TREATMENT, duration_of


def check_session(booking_type: str, areas: Sequence[str], start: datetime, now: datetime,
                  rules: ClinicRules, closed_dates: Collection[date] = (),
                  other_treatment_starts: Iterable[datetime] = ()) -> datetime:
    """Raise the first RuleViolation that applies; return the session's end when none does.
    Whether a practitioner is free is a separate question (it needs the current bookings)."""
    duration: timedelta = duration_of(booking_type, areas, rules)
    end = start + duration
    check_grid(start, rules)
    check_notice(start, now, rules)
    check_opening_hours(start, end, rules, closed_dates)
    if booking_type == TREATMENT:  # consultations are exempt from spacing
        check_spacing(start, other_treatment_starts, rules)
    return end
