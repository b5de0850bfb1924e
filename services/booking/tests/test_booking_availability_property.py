"""The interval computation of availability against a slow reference: the rules as they were stated
before it (every grid start checked against every booking with `free_practitioners`), on random diaries.

Random: days around the DST changes (Europe/London, 29 March and 25 October 2026, Sundays, so some
clinics here open on Sundays and from midnight), closures, minimum notice and horizon, one to three
practitioners, bookings of others outside the configured list, overlapping and off-grid bookings (in UTC,
as the database gives them),
turnover from 0 to 30 minutes, closing at 17:30 and other hours. The reference formats each slot's times
as the answers did before the grid kept them formatted (to_local_iso per slot), so the times a clinic open
at midnight shows across a DST change are held to it too.
"""
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from clinic_shared.datetimes import to_local_iso

from booking.domain.availability import Slot, day_slots, days_between, range_slots
from booking.domain.clinic import Practitioner
from booking.domain.hours import grid_starts, is_open_day
from booking.domain.practitioners import Busy, choose_practitioner, free_practitioners
from booking.domain.timing import too_far_ahead, too_soon
from booking.settings import clinic_rules

RULES = clinic_rules("Europe/London")
STAFF = (Practitioner("ann", "Ann"), Practitioner("bo", "Bo"), Practitioner("cy", "Cy"))
FIRST_DAYS = (date(2026, 3, 26), date(2026, 10, 22), date(2026, 12, 28))  # DST spring, DST autumn, year end


def reference_day_slots(day, duration, rules, now, busy=(), closed_dates=()):
    """Today's rules before the interval computation, kept verbatim as the reference."""
    if not is_open_day(day, rules, closed_dates):
        return []
    busy = list(busy)
    slots = []
    for start in grid_starts(day, duration, rules):
        if too_soon(start, now, rules) or too_far_ahead(start, now, rules):
            continue
        free = len(free_practitioners(start, start + duration, busy, rules))
        if free:
            end = start + duration
            slots.append(Slot(start, end, free, to_local_iso(start, rules.timezone), to_local_iso(end, rules.timezone)))
    return slots


@st.composite
def clinics(draw):
    hours = draw(st.sampled_from([(time(8), time(17, 30)), (time(0), time(23, 45)), (time(0, 30), time(3)),
                                  (time(7, 45), time(18))]))
    return replace(RULES, practitioners=STAFF[:draw(st.integers(1, 3))], opens=hours[0], closes=hours[1],
                   turnover_minutes=draw(st.sampled_from([0, 5, 15, 30])),
                   min_notice_minutes=draw(st.sampled_from([0, 120, 24 * 60])),
                   horizon_days=draw(st.sampled_from([2, 365])),
                   open_weekdays=draw(st.sampled_from([RULES.open_weekdays, frozenset(range(7))])))


@st.composite
def diaries(draw, rules, first):
    """Bookings anywhere from the day before the window to the day after, in UTC as the database gives
    them (the old rules added turnover in wall-clock time to whatever zone a booking carried, which on a DST
    night differs; `repository.busy_between` only ever hands over UTC)."""
    busy = []
    for _ in range(draw(st.integers(0, 40))):
        day = first + timedelta(days=draw(st.integers(-1, 6)))
        start = datetime.combine(day, time(0), tzinfo=rules.timezone).astimezone(timezone.utc) + timedelta(
            minutes=5 * draw(st.integers(0, 287)))
        end = start + timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 75, 90, 240])))
        who = draw(st.sampled_from([p.id for p in STAFF] + ["someone-else"]))
        busy.append(Busy(who, start, end))
    return busy


@st.composite
def cases(draw):
    rules = draw(clinics())
    first = draw(st.sampled_from(FIRST_DAYS)) + timedelta(days=draw(st.integers(0, 3)))
    last = first + timedelta(days=draw(st.integers(0, 4)))
    busy = draw(diaries(rules, first))
    closed = set(draw(st.lists(st.sampled_from(days_between(first, last)), max_size=2)))
    now = datetime.combine(first, time(0), tzinfo=timezone.utc) + timedelta(
        minutes=15 * draw(st.integers(-96 * 3, 96 * 3)))
    duration = timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60])))
    return rules, first, last, busy, closed, now, duration


@settings(max_examples=400, deadline=None)
@given(cases())
def test_interval_availability_equals_the_reference(case):
    rules, first, last, busy, closed, now, duration = case
    expected = [slot for day in days_between(first, last)
                for slot in reference_day_slots(day, duration, rules, now, busy, closed)]
    assert range_slots(first, last, duration, rules, now, busy, closed) == expected
    one_by_one = [s for day in days_between(first, last) for s in day_slots(day, duration, rules, now, busy, closed)]
    assert one_by_one == expected


@settings(max_examples=200, deadline=None)
@given(cases())
def test_every_reported_practitioner_count_is_bookable(case):
    """Across the grid, the booking path's choice agrees with the slots: someone is chosen exactly where a
    slot is offered (ignoring notice, which the booking path checks elsewhere)."""
    rules, first, last, busy, closed, now, duration = case
    rules = replace(rules, min_notice_minutes=0, horizon_days=3650)
    offered = {s.start for s in range_slots(first, last, duration, rules, now - timedelta(days=30), busy, closed)}
    for day in days_between(first, last):
        if is_open_day(day, rules, closed):
            for start in grid_starts(day, duration, rules):
                chosen = choose_practitioner(start, start + duration, busy, rules)
                assert (chosen is not None) == (start in offered)


def test_a_booking_inside_a_longer_one_does_not_shorten_it():
    """Overlapping bookings of one practitioner (the database forbids them, the computation must not care)."""
    rules = replace(RULES, practitioners=STAFF[:1])
    day = date(2026, 12, 1)
    at = lambda hh, mm=0: datetime.combine(day, time(hh, mm), tzinfo=rules.timezone)  # noqa: E731
    busy = [Busy("ann", at(9), at(13)), Busy("ann", at(10), at(10, 30))]
    now = at(0) - timedelta(days=1)
    slots = range_slots(day, day, timedelta(minutes=30), rules, now, busy)
    assert slots == reference_day_slots(day, timedelta(minutes=30), rules, now, busy)
    assert at(12) not in {s.start for s in slots} and at(13, 15) in {s.start for s in slots}
