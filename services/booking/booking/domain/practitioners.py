"""Which practitioner takes a booking: one free for the whole session plus turnover."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from .clinic import ClinicRules, Practitioner


@dataclass(frozen=True)
class Busy:
    practitioner_id: str
    start: datetime
    end: datetime


def clashes(start: datetime, end: datetime, busy: Busy, turnover: timedelta) -> bool:
    """Each booking blocks its practitioner until turnover after its end (the same ranges the
    database's exclusion constraint compares)."""
    return start < busy.end + turnover and busy.start < end + turnover


def free_practitioners(start: datetime, end: datetime, busy: Iterable[Busy],
                       rules: ClinicRules) -> list[Practitioner]:
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
