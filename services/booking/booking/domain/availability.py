"""Bookable slots of a day: on the grid, inside the hours, with notice, and a practitioner free."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Collection, Iterable

from .clinic import ClinicRules
from .hours import grid_starts, is_open_day
from .practitioners import Busy, free_practitioners
from .timing import too_far_ahead, too_soon


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    practitioners_free: int


def day_slots(day: date, duration: timedelta, rules: ClinicRules, now: datetime,
              busy: Iterable[Busy] = (), closed_dates: Collection[date] = ()) -> list[Slot]:
    if not is_open_day(day, rules, closed_dates):
        return []
    busy = list(busy)
    slots = []
    for start in grid_starts(day, duration, rules):
        if too_soon(start, now, rules) or too_far_ahead(start, now, rules):
            continue
        free = len(free_practitioners(start, start + duration, busy, rules))
        if free:
            slots.append(Slot(start, start + duration, free))
    return slots


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
