"""How long a session lasts: the minutes of its areas, or a consultation's fixed length."""
from __future__ import annotations

from datetime import timedelta
from typing import Sequence

from .clinic import ClinicRules
from .violations import RuleViolation

TREATMENT = "treatment"
CONSULTATION = "consultation"


def unknown_areas(areas: Sequence[str], rules: ClinicRules) -> list[str]:
    return [a for a in areas if rules.area(a) is None]


def session_minutes(areas: Sequence[str], rules: ClinicRules) -> int:
    return sum(rules.area(a).minutes for a in areas)


def session_too_long(minutes: int, rules: ClinicRules) -> bool:
    return minutes > rules.max_session_minutes


def duration_of(booking_type: str, areas: Sequence[str], rules: ClinicRules) -> timedelta:
    """The session's length; raises `session_too_long` when the areas add up to too much."""
    if booking_type == CONSULTATION:
        return timedelta(minutes=rules.consultation_minutes)
    minutes = session_minutes(areas, rules)
    if session_too_long(minutes, rules):
        raise RuleViolation("session_too_long",
                            f"These areas take {minutes} minutes; one session lasts at most "
                            f"{rules.max_session_minutes}. Book them as separate sessions.",
                            {"minutes": minutes, "max_session_minutes": rules.max_session_minutes})
    return timedelta(minutes=minutes)
