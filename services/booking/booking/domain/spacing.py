"""Two treatment sessions of one client start at least `spacing_days` apart, in either direction.

Measured in local wall-clock days, so a course at 09:00 every four weeks stays valid across a
DST change (in absolute time that span is an hour short of 28 days).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from .clinic import ClinicRules
from .violations import RuleViolation


def _wall(moment: datetime, rules: ClinicRules) -> datetime:
    return moment.astimezone(rules.timezone).replace(tzinfo=None)


def earliest_allowed_start(start: datetime, other_treatment_starts: Iterable[datetime],
                           rules: ClinicRules) -> datetime | None:
    """None when `start` keeps its distance from every other treatment; else the earliest start
    at or after it that does."""
    gap = timedelta(days=rules.spacing_days)
    others = sorted(_wall(o, rules) for o in other_treatment_starts)
    candidate = _wall(start, rules)
    moved = False
    for other in others:  # ascending, so one pass pushes the candidate past every clash
        if abs(candidate - other) < gap:
            candidate = other + gap
            moved = True
    return candidate.replace(tzinfo=rules.timezone) if moved else None


def check_spacing(start: datetime, other_treatment_starts: Iterable[datetime], rules: ClinicRules) -> None:
    earliest = earliest_allowed_start(start, other_treatment_starts, rules)
    if earliest is not None:
        raise RuleViolation("treatment_spacing",
                            f"Treatment sessions must be at least {rules.spacing_days} days apart.",
                            {"earliest_start": earliest.isoformat(), "spacing_days": rules.spacing_days})
