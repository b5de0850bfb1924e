"""The waitlist's rules as plain functions: what a day allows before there is a slot, and which start an
offer gets (the earliest that fits, bookable until the hold ends, around other offers' holds)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.domain.practitioners import Busy
from booking.domain.violations import RuleViolation
from booking.domain.waitlist import check_day, first_offer
from booking.settings import clinic_rules

LONDON = ZoneInfo("Europe/London")
RULES = clinic_rules("Europe/London")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday, 09:00 GMT
TUESDAY = date(2026, 11, 10)
SUNDAY = date(2026, 11, 8)
HOLD = timedelta(minutes=30)
A, B = (p.id for p in RULES.practitioners)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def violation(call) -> RuleViolation | None:
    try:
        call()
    except RuleViolation as refused:
        return refused
    return None


def code_of(call) -> str | None:
    refused = violation(call)
    return refused.code if refused else None


# ----- check_day ---------------------------------------------------------------------------------

def test_an_open_day_ahead_is_fine_and_gives_the_session_length():
    assert check_day("treatment", ["face"], TUESDAY, NOW, RULES) == timedelta(minutes=60)
    assert check_day("consultation", [], TUESDAY, NOW, RULES) == timedelta(minutes=30)


@pytest.mark.parametrize("day, now, code", [
    (date(2026, 11, 1), NOW, "too_soon"),  # yesterday
    (date(2026, 11, 2), at(date(2026, 11, 2), 15, 30), "too_soon"),  # today, the last start within the notice
    (date(2027, 11, 3), NOW, "too_far_ahead"),  # beyond the 365 days
    (SUNDAY, NOW, "outside_opening_hours"),
])
def test_days_no_booking_could_ever_take(day, now, code):
    assert code_of(lambda: check_day("treatment", ["neck"], day, now, RULES)) == code


def test_today_is_fine_while_its_last_start_is_outside_the_notice():
    today = date(2026, 11, 2)
    assert check_day("treatment", ["neck"], today, at(today, 14, 59), RULES)  # 17:00 is 2 h 1 min away
    assert code_of(lambda: check_day("treatment", ["neck"], today, at(today, 15, 1), RULES)) == "too_soon"


def test_the_last_day_of_the_horizon_is_fine_while_its_first_start_is_inside_it():
    last = (NOW + timedelta(days=365)).date()
    assert check_day("treatment", ["neck"], last, NOW, RULES)
    assert code_of(lambda: check_day("treatment", ["neck"], last + timedelta(days=1), NOW, RULES)) == "too_far_ahead"


def test_a_closure_day_is_clinic_closed():
    assert code_of(lambda: check_day("treatment", ["neck"], TUESDAY, NOW, RULES, {TUESDAY})) == "clinic_closed"


def test_areas_too_long_for_one_session_are_refused_first():
    assert code_of(lambda: check_day("treatment", ["face", "neck"], SUNDAY, NOW, RULES)) == "session_too_long"


def test_a_day_wholly_inside_the_spacing_of_another_treatment_is_refused_with_the_earliest_start():
    other = at(TUESDAY - timedelta(days=10), 10)
    refused = violation(lambda: check_day("treatment", ["neck"], TUESDAY, NOW, RULES, (), [other]))
    assert refused.code == "treatment_spacing"
    assert datetime.fromisoformat(refused.details["earliest_start"]) == at(TUESDAY + timedelta(days=18), 10)


def test_a_day_partly_clear_of_the_spacing_is_fine_and_consultations_are_exempt():
    other = at(TUESDAY - timedelta(days=28), 12)  # from 12:00 on the day is 28 days after it
    assert check_day("treatment", ["neck"], TUESDAY, NOW, RULES, (), [other])
    inside = at(TUESDAY - timedelta(days=3), 12)
    assert check_day("consultation", [], TUESDAY, NOW, RULES, (), [inside])


# ----- first_offer -------------------------------------------------------------------------------

def booked_solid(day: date, practitioner: str, except_from: datetime | None = None,
                 until: datetime | None = None) -> list[Busy]:
    """A practitioner's day full of 30-minute bookings 45 minutes apart (session + turnover), leaving out
    those that start in [except_from, until)."""
    busy, start = [], at(day, 8)
    while start + timedelta(minutes=30) <= at(day, 17, 30):
        if not (except_from and except_from <= start < until):
            busy.append(Busy(practitioner, start, start + timedelta(minutes=30)))
        start += timedelta(minutes=45)
    return busy


def test_an_empty_day_offers_its_first_start():
    offer = first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, [])
    assert (offer.start, offer.end) == (at(TUESDAY, 8), at(TUESDAY, 8, 30))
    assert offer.expires_at == NOW + HOLD


def test_a_full_day_offers_nothing():
    busy = booked_solid(TUESDAY, A) + booked_solid(TUESDAY, B)
    assert first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, busy) is None
    assert first_offer("consultation", [], TUESDAY, NOW, HOLD, RULES, busy) is None


def test_freed_time_goes_to_an_entry_it_fits_with_the_practitioner_who_is_free():
    freed_from, freed_until = at(TUESDAY, 11, 45), at(TUESDAY, 12, 30)  # one 30-minute booking cancelled
    busy = booked_solid(TUESDAY, A) + booked_solid(TUESDAY, B, freed_from, freed_until)
    offer = first_offer("treatment", ["hands"], TUESDAY, NOW, HOLD, RULES, busy)
    assert (offer.start, offer.end, offer.practitioner.id) == (freed_from, at(TUESDAY, 12, 15), B)
    assert first_offer("treatment", ["face"], TUESDAY, NOW, HOLD, RULES, busy) is None  # 60 minutes do not fit


def test_a_held_offer_is_busy_time_for_the_next_entry():
    freed_from, freed_until = at(TUESDAY, 11, 45), at(TUESDAY, 12, 30)
    busy = booked_solid(TUESDAY, A) + booked_solid(TUESDAY, B, freed_from, freed_until)
    held = first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, busy)
    busy.append(Busy(held.practitioner.id, held.start, held.end))
    assert first_offer("consultation", [], TUESDAY, NOW, HOLD, RULES, busy) is None


def test_an_offer_must_still_be_bookable_when_its_hold_ends():
    today = date(2026, 11, 2)
    now = at(today, 9)  # the first start clear of the notice is 11:00; of the notice after the hold 11:30
    offer = first_offer("treatment", ["neck"], today, now, HOLD, RULES, [])
    assert offer.start == at(today, 11, 30)


def test_an_offer_keeps_the_clients_spacing_and_skips_starts_that_break_it():
    other = at(TUESDAY - timedelta(days=28), 12)
    offer = first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, [], (), [other])
    assert offer.start == at(TUESDAY, 12)
    assert first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, [], (), [at(TUESDAY, 9)]) is None


def test_no_offer_on_a_closure_day_nor_for_areas_the_rules_no_longer_allow():
    assert first_offer("treatment", ["neck"], TUESDAY, NOW, HOLD, RULES, [], {TUESDAY}) is None
    assert first_offer("treatment", ["face", "neck"], TUESDAY, NOW, HOLD, RULES, []) is None
