"""Bookable slots of a day: on the grid, inside the hours, with notice, and a practitioner free.

Busy bookings are turned once into a Diary of merged ranges per practitioner; each grid start then asks
it with a bisect, so a month over hundreds of bookings costs about what fetching them does. All
comparisons run in UTC: aware datetimes of one tzinfo compare without asking the zone for offsets.

A day's grid never changes under the same rules, so everything about its starts that does not depend on
the bookings (the end, the blocked range in UTC, both times as the answers write them) is worked out once
and kept (`day_grid`); per request a start costs two comparisons, a bisect per busy practitioner and, if it
is offered, one tuple.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Collection, Iterable, NamedTuple

from clinic_shared.datetimes import to_local_iso

from .clinic import ClinicRules
from .hours import grid_starts, is_open_day
from .practitioners import Busy, Diary, blocked, diary_of, free_count
from .timing import bookable_window


class Slot(NamedTuple):
    start: datetime
    end: datetime
    practitioners_free: int
    # `start` and `end` as API.md's answers write them (to_local_iso), formatted once with the day's grid:
    # formatting was a tenth of a month's answer.
    start_text: str
    end_text: str


class GridStart(NamedTuple):
    """A start on a day's grid and what follows from it alone."""
    start: datetime  # local wall-clock time
    end: datetime  # start + duration in wall-clock time, as the rules always counted it (on a DST night too)
    blocked_from: datetime  # the range the session would block (`blocked`), in UTC for the Diary
    blocked_until: datetime
    start_text: str  # to_local_iso(start) and to_local_iso(end)
    end_text: str


@lru_cache(maxsize=4096)
def day_grid(day: date, duration: timedelta, rules: ClinicRules) -> tuple[GridStart, ...]:
    """The day's grid starts, kept, since a day's grid never changes under the same rules. The blocked range is
    worked out in local time first, as the rules always have (so on a DST night a session's end is wall-clock
    time), then converted."""
    turnover = timedelta(minutes=rules.turnover_minutes)
    grid = []
    for start in grid_starts(day, duration, rules):
        end = start + duration
        first, last = blocked(start, end, turnover)
        grid.append(GridStart(start, end, first.astimezone(timezone.utc), last.astimezone(timezone.utc),
                              to_local_iso(start, rules.timezone), to_local_iso(end, rules.timezone)))
    return tuple(grid)


def slots_in(grid: Iterable[GridStart], diary: Diary, window: tuple[datetime, datetime]) -> list[Slot]:
    """The starts of a grid inside the bookable `window` (timing.bookable_window) with a practitioner free."""
    earliest, latest = window
    slots = []
    for at in grid:
        if earliest <= at.blocked_from <= latest:  # blocked_from is the start, in UTC like the window
            free = free_count(diary, at.blocked_from, at.blocked_until)
            if free:
                slots.append(Slot(at.start, at.end, free, at.start_text, at.end_text))
    return slots


def range_slots(first: date, last: date, duration: timedelta, rules: ClinicRules, now: datetime,
                busy: Iterable[Busy] = (), closed_dates: Collection[date] = ()) -> list[Slot]:
    """The slots of every day from `first` to `last` inclusive, the diary built once for all of them."""
    diary = diary_of(busy, rules)
    window = bookable_window(now.astimezone(timezone.utc), rules)
    return [slot for day in days_between(first, last) if is_open_day(day, rules, closed_dates)
            for slot in slots_in(day_grid(day, duration, rules), diary, window)]


def day_slots(day: date, duration: timedelta, rules: ClinicRules, now: datetime,
              busy: Iterable[Busy] = (), closed_dates: Collection[date] = ()) -> list[Slot]:
    return range_slots(day, day, duration, rules, now, busy, closed_dates)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
