"""Minimum notice and the booking horizon."""
from __future__ import annotations

from datetime import datetime, timedelta

from .clinic import ClinicRules
from .violations import RuleViolation


def too_soon(start: datetime, now: datetime, rules: ClinicRules) -> bool:
    """Inside the minimum notice, or in the past."""
    return start < now + timedelta(minutes=rules.min_notice_minutes)


def too_far_ahead(start: datetime, now: datetime, rules: ClinicRules) -> bool:
    return start > now + timedelta(days=rules.horizon_days)


def bookable_window(now: datetime, rules: ClinicRules) -> tuple[datetime, datetime]:
    """The earliest and the latest start bookable at `now`: exactly the starts neither too_soon nor too_far_ahead,
    worked out once for a whole grid instead of per start."""
    return now + timedelta(minutes=rules.min_notice_minutes), now + timedelta(days=rules.horizon_days)


def check_notice(start: datetime, now: datetime, rules: ClinicRules) -> None:
    if too_soon(start, now, rules):
        raise RuleViolation("too_soon",
                            f"Bookings need at least {rules.min_notice_minutes} minutes' notice.",
                            {"min_notice_minutes": rules.min_notice_minutes})
    if too_far_ahead(start, now, rules):
        raise RuleViolation("too_far_ahead",
                            f"Bookings can be made up to {rules.horizon_days} days ahead.",
                            {"horizon_days": rules.horizon_days})
