"""Bookable slots of a day: on the grid, inside the hours, with notice, and a practitioner free.

Busy bookings are turned once into a Diary of merged ranges per practitioner; each grid start then asks
it with a bisect, so a month over hundreds of bookings costs about what fetching them does. All
comparisons run in UTC: aware datetimes of one tzinfo compare without asking the zone for offsets.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Collection, Iterable

from .clinic import ClinicRules
from .hours import grid_starts, is_open_day
from .practitioners import Busy, Diary, blocked, diary_of, free_in
from .timing import too_far_ahead, too_soon


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    practitioners_free: int


def slots_in(diary: Diary, day: date, duration: timedelta, rules: ClinicRules, now: datetime,
             closed_dates: Collection[date] = ()) -> list[Slot]:
    if not is_open_day(day, rules, closed_dates):
        return []
    now = now.astimezone(timezone.utc)
    slots = []
    for start, span in day_grid(day, duration, rules):
        if too_soon(span[0], now, rules) or too_far_ahead(span[0], now, rules):
            continue
        free = len(free_in(diary, span, rules))
        if free:
            slots.append(Slot(start, start + duration, free))
    return slots


@lru_cache(maxsize=4096)
def day_grid(day: date, duration: timedelta,
             rules: ClinicRules) -> tuple[tuple[datetime, tuple[datetime, datetime]], ...]:
    """The day's grid starts, each with the range its session would block, in UTC; kept, since a day's grid
    never changes under the same rules. The range is worked out in local time first, as the rules always
    have (so on a DST night a session's end is wall-clock time), then converted."""
    turnover = timedelta(minutes=rules.turnover_minutes)
    grid = []
    for start in grid_starts(day, duration, rules):
        first, last = blocked(start, start + duration, turnover)
        grid.append((start, (first.astimezone(timezone.utc), last.astimezone(timezone.utc))))
    return tuple(grid)


def range_slots(first: date, last: date, duration: timedelta, rules: ClinicRules, now: datetime,
                busy: Iterable[Busy] = (), closed_dates: Collection[date] = ()) -> list[Slot]:
    """The slots of every day from `first` to `last` inclusive, the diary built once for all of them."""
    diary = diary_of(busy, rules)
    return [slot for day in days_between(first, last)
            for slot in slots_in(diary, day, duration, rules, now, closed_dates)]


def day_slots(day: date, duration: timedelta, rules: ClinicRules, now: datetime,
              busy: Iterable[Busy] = (), closed_dates: Collection[date] = ()) -> list[Slot]:
    return range_slots(day, day, duration, rules, now, busy, closed_dates)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
