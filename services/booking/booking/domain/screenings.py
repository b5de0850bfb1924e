"""What a screening allows: a treatment needs an eligible one, a consultation any; both an unexpired one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .treatments import CONSULTATION
from .violations import RuleViolation


@dataclass(frozen=True)
class ScreeningStatus:
    outcome: str
    valid_until: datetime


def check_screening(screening: ScreeningStatus, booking_type: str, now: datetime) -> None:
    if booking_type != CONSULTATION and screening.outcome != "eligible":
        raise RuleViolation("screening_not_eligible",
                            "A treatment needs an eligible screening; you may book a consultation instead.",
                            {"outcome": screening.outcome})
    if screening.valid_until <= now:
        raise RuleViolation("screening_expired",
                            "This screening has expired; please complete a new one before booking.",
                            {"valid_until": screening.valid_until.isoformat()})
