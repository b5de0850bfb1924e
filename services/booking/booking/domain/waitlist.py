"""The waitlist (CLINIC.md "Waitlist", beyond the article): a client waits for a day that is full; time that
frees up on it is offered to the oldest waiting entry that fits and held for that client for a while.

Plain rules: what can be judged of a day before there is a slot, and which start to offer an entry."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Collection, Iterable, Sequence

from .availability import day_slots
from .booking_rules import check_session
from .clinic import ClinicRules, Practitioner
from .hours import check_open_day, grid_starts
from .practitioners import Busy, choose_practitioner
from .spacing import check_spacing, earliest_allowed_start
from .timing import check_notice, too_far_ahead, too_soon
from .treatments import TREATMENT, duration_of
from .violations import RuleViolation

WAITING = "waiting"
OFFERED = "offered"  # freed time is held for the entry until its offer expires
BOOKED = "booked"  # the client booked the offered time
EXPIRED = "expired"  # the offer was not taken in time; the time went to the next entry
STATUSES = (WAITING, OFFERED, BOOKED, EXPIRED)
ACTIVE = (WAITING, OFFERED)  # a client has at most one of these per date


@dataclass(frozen=True)
class Offer:
    start: datetime
    end: datetime
    practitioner: Practitioner
    expires_at: datetime


def check_day(booking_type: str, areas: Sequence[str], day: date, now: datetime, rules: ClinicRules,
              closed_dates: Collection[date] = (), other_treatment_starts: Iterable[datetime] = ()) -> timedelta:
    """Raise the RuleViolation that a booking on `day` would meet at every start; return the session's length.

    The booking rules in their order (booking_rules.check_session), asked of the whole day: the session's
    length, then notice and horizon (the day's last start already too soon, its first still beyond the
    horizon), then whether the clinic opens that day, then spacing (no start of the day far enough from
    the client's other treatments)."""
    duration = duration_of(booking_type, areas, rules)
    starts = grid_starts(day, duration, rules)
    if starts and too_soon(starts[-1], now, rules):
        check_notice(starts[-1], now, rules)  # too_soon
    if starts and too_far_ahead(starts[0], now, rules):
        check_notice(starts[0], now, rules)  # too_far_ahead
    check_open_day(day, rules, closed_dates)
    if not starts:  # a session longer than the day is open
        raise RuleViolation("outside_opening_hours", "No session of this length fits in the day's opening hours.",
                            {"opens": rules.opens.strftime("%H:%M"), "closes": rules.closes.strftime("%H:%M")})
    if booking_type == TREATMENT:
        others = list(other_treatment_starts)
        if all(earliest_allowed_start(start, others, rules) is not None for start in starts):
            check_spacing(starts[0], others, rules)
    return duration


def first_offer(booking_type: str, areas: Sequence[str], day: date, now: datetime, hold: timedelta,
                rules: ClinicRules, busy: Iterable[Busy], closed_dates: Collection[date] = (),
                other_treatment_starts: Iterable[datetime] = ()) -> Offer | None:
    """The earliest start on `day` that the entry's client could book now and still when the hold ends
    (notice counted from the hold's end), with a practitioner free; None when nothing fits.

    `busy` holds the confirmed bookings and the holds of other offers alike."""
    try:
        duration = duration_of(booking_type, areas, rules)
    except RuleViolation:  # the rules changed since the entry joined: it no longer fits any session
        return None
    busy = list(busy)
    others = list(other_treatment_starts)
    bookable_until = now + hold
    for slot in day_slots(day, duration, rules, bookable_until, busy, closed_dates):
        try:
            check_session(booking_type, areas, slot.start, bookable_until, rules, closed_dates, others)
        except RuleViolation:
            continue
        practitioner = choose_practitioner(slot.start, slot.end, busy, rules)
        if practitioner is not None:
            return Offer(slot.start, slot.end, practitioner, bookable_until)
    return None
