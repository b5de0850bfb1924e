"""Which practitioner takes a booking: one free for the whole session plus turnover."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, NamedTuple

from .clinic import ClinicRules, Practitioner


class Busy(NamedTuple):  # a tuple: availability makes one per booking of a month, and they are quicker made
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
    """The blocked time of the rules' practitioners, for availability: each one with bookings as sorted, merged,
    disjoint ranges (`starts[i]`..`ends[i]`, in UTC), so whether they are free for a session is one bisect
    instead of a look at every booking; those with nothing booked are only counted (`idle`), free for any
    session. Bookings of anyone not in the rules are left out: nobody else can take a session."""
    idle: int
    lanes: tuple[tuple[list[datetime], list[datetime]], ...]


def diary_of(busy: Iterable[Busy], rules: ClinicRules) -> Diary:
    turnover = timedelta(minutes=rules.turnover_minutes)
    ranges: dict[str, list[tuple[datetime, datetime]]] = {p.id: [] for p in rules.practitioners}
    for b in busy:
        if b.practitioner_id in ranges:
            start, end = b.start.astimezone(timezone.utc), b.end.astimezone(timezone.utc)
            ranges[b.practitioner_id].append(blocked(start, end, turnover))
    lanes = tuple(merged(ranges[p.id]) for p in rules.practitioners if ranges[p.id])
    return Diary(len(rules.practitioners) - len(lanes), lanes)


def merged(spans: list[tuple[datetime, datetime]]) -> tuple[list[datetime], list[datetime]]:
    """Ranges sorted and merged where they touch or overlap, as (starts, ends)."""
    starts, ends = [], []
    for start, end in sorted(spans):
        if ends and start <= ends[-1]:  # touching or overlapping: one range
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def free_count(diary: Diary, blocked_from: datetime, blocked_until: datetime) -> int:
    """How many practitioners are free for a session that blocks `blocked_from`..`blocked_until` (see `blocked`).

    One is free when no range of theirs overlaps it: the first range ending after its start (the ranges are
    disjoint and sorted, so only that one can) must begin at or after its end. Availability asks this for
    every grid start of a month, so the loop is written out rather than a call per practitioner."""
    free = diary.idle
    for starts, ends in diary.lanes:
        first = bisect_right(ends, blocked_from)
        if first == len(ends) or starts[first] >= blocked_until:
            free += 1
    return free


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
