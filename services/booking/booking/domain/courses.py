"""Courses: a fixed number of sessions at the same local wall-clock time, whole weeks apart."""
from __future__ import annotations

from datetime import datetime, timedelta

from .clinic import ClinicRules


def course_starts(first: datetime, sessions: int, interval_weeks: int, rules: ClinicRules) -> list[datetime]:
    """Session starts keeping the first one's local time, across DST changes."""
    wall = first.astimezone(rules.timezone).replace(tzinfo=None)
    return [(wall + timedelta(weeks=interval_weeks * n)).replace(tzinfo=rules.timezone)
            for n in range(sessions)]


def course_shape_errors(sessions: int, interval_weeks: int, rules: ClinicRules) -> dict[str, list[str]]:
    """Field -> messages for a course outside the clinic's bounds (empty when it fits)."""
    errors = {}
    low, high = rules.course_sessions
    if not low <= sessions <= high:
        errors["sessions"] = [f"A course has {low} to {high} sessions."]
    low, high = rules.course_interval_weeks
    if not low <= interval_weeks <= high:
        errors["interval_weeks"] = [f"Course sessions are {low} to {high} weeks apart."]
    return errors
