"""Which practitioner takes a booking: one free for the whole session plus turnover."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from .clinic import ClinicRules, Practitioner


@dataclass(frozen=True)
class Busy:
    practitioner_id: str
    start: datetime
    end: datetime


def blocked(start: datetime, end: datetime, turnover: timedelta) -> tuple[datetime, datetime]:
    """The half-open range a session keeps its practitioner from others: its start until turnover after
    its end (the same ranges the database's exclusion constraint compares)."""
    return start, end + turnover


def clashes(start: datetime, end: datetime, busy: Busy, turnover: timedelta) -> bool:
    """A session clashes with a booking when their blocked ranges overlap."""
    (a_start, a_end), (b_start, b_end) = blocked(start, end, turnover), blocked(busy.start, busy.end, turnover)
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True)
class Diary:
    """Each practitioner's blocked time as sorted, merged, disjoint ranges (`starts[i]`..`ends[i]`, in UTC),
    so whether someone is free for a session is one bisect instead of a look at every booking."""
    starts: dict[str, list[datetime]]
    ends: dict[str, list[datetime]]


def diary_of(busy: Iterable[Busy], rules: ClinicRules) -> Diary:
    turnover = timedelta(minutes=rules.turnover_minutes)
    ranges: dict[str, list[tuple[datetime, datetime]]] = {}
    for b in busy:
        start, end = b.start.astimezone(timezone.utc), b.end.astimezone(timezone.utc)
        ranges.setdefault(b.practitioner_id, []).append(blocked(start, end, turnover))
    starts, ends = {}, {}
    for practitioner_id, spans in ranges.items():
        merged_starts, merged_ends = [], []
        for start, end in sorted(spans):
            if merged_ends and start <= merged_ends[-1]:  # touching or overlapping: one range
                merged_ends[-1] = max(merged_ends[-1], end)
            else:
                merged_starts.append(start)
                merged_ends.append(end)
        starts[practitioner_id], ends[practitioner_id] = merged_starts, merged_ends
    return Diary(starts, ends)


def is_free(diary: Diary, practitioner_id: str, span: tuple[datetime, datetime]) -> bool:
    """No blocked range overlaps the session's own blocked `span` (see `blocked`): the first range ending
    after its start (the ranges are disjoint and sorted, so only that one can) must begin at or after its end."""
    ends = diary.ends.get(practitioner_id)
    if not ends:
        return True
    first = bisect_right(ends, span[0])
    return first == len(ends) or diary.starts[practitioner_id][first] >= span[1]


def free_in(diary: Diary, span: tuple[datetime, datetime], rules: ClinicRules) -> list[Practitioner]:
    return [p for p in rules.practitioners if is_free(diary, p.id, span)]


def free_practitioners(start: datetime, end: datetime, busy: Iterable[Busy],
                       rules: ClinicRules) -> list[Practitioner]:
    """One question about a handful of bookings: a plain scan is cheaper than building a Diary."""
    turnover = timedelta(minutes=rules.turnover_minutes)
    taken = {b.practitioner_id for b in busy if clashes(start, end, b, turnover)}
    return [p for p in rules.practitioners if p.id not in taken]


def choose_practitioner(start: datetime, end: datetime, busy: Iterable[Busy],
                        rules: ClinicRules) -> Practitioner | None:
    """A free practitioner, preferring the one with the fewest booked minutes that day (then list
    order), so the work spreads evenly; None when nobody is free."""
    busy = list(busy)
    day = start.astimezone(rules.timezone).date()
    load = {p.id: timedelta() for p in rules.practitioners}
    for b in busy:
        if b.start.astimezone(rules.timezone).date() == day and b.practitioner_id in load:
            load[b.practitioner_id] += b.end - b.start
    free = free_practitioners(start, end, busy, rules)
    return min(free, key=lambda p: load[p.id]) if free else None
