"""The clinic's booking rules as plain functions: hours, grid, notice, length, spacing, turnover,
availability and courses, DST days included (Europe/London: 29 March and 25 October 2026)."""
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from clinic_shared.datetimes import to_local_iso

from booking.domain.availability import day_slots, days_between
from booking.domain.booking_rules import check_session
from booking.domain.clinic import MAX_TURNOVER_MINUTES
from booking.domain.courses import course_shape_errors, course_starts
from booking.domain.hours import check_grid, check_opening_hours, grid_starts, is_open_day, on_grid
from booking.domain.practitioners import Busy, choose_practitioner, free_practitioners
from booking.domain.screenings import ScreeningStatus, check_screening
from booking.domain.spacing import check_spacing, earliest_allowed_start
from booking.domain.timing import check_notice, too_far_ahead, too_soon
from booking.domain.treatments import duration_of, session_minutes, session_too_long, unknown_areas
from booking.domain.violations import RuleViolation
from booking.settings import clinic_rules, practitioners_from_names

LONDON = ZoneInfo("Europe/London")
RULES = clinic_rules("Europe/London")
TUESDAY = date(2026, 12, 1)
SUNDAY = date(2026, 12, 6)
SPRING_FORWARD = date(2026, 3, 29)  # a Sunday: clocks go 01:00 -> 02:00
FALL_BACK = date(2026, 10, 25)  # a Sunday: clocks go 02:00 -> 01:00
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def code_of(call) -> str | None:
    try:
        call()
    except RuleViolation as violation:
        return violation.code
    return None


# ----- settings ------------------------------------------------------------------------------

def test_defaults_are_clinic_md():
    assert RULES.open_weekdays == frozenset(range(6))
    assert (RULES.opens, RULES.closes) == (time(8), time(17, 30))
    assert (RULES.slot_minutes, RULES.turnover_minutes, RULES.min_notice_minutes) == (15, 15, 120)
    assert RULES.horizon_days == 365 and RULES.spacing_days == 28
    assert {a.id: a.minutes for a in RULES.areas} == {"face": 60, "neck": 30, "decolletage": 45,
                                                      "scalp": 45, "hands": 30}
    assert (RULES.max_session_minutes, RULES.consultation_minutes) == (60, 30)
    assert len(RULES.practitioners) == 2
    assert RULES.course_sessions == (3, 6) and RULES.course_interval_weeks == (4, 6)


def test_environment_overrides_numbers_and_practitioners():
    rules = clinic_rules("Europe/London", {"CLINIC_PRACTITIONERS": "Ann Lee, Bo Chan ,Cy",
                                           "CLINIC_BOOKING_CLOSES": "18:00",
                                           "CLINIC_BOOKING_OPEN_DAYS": "Mon,Wed",
                                           "CLINIC_BOOKING_COURSE_SESSIONS": "2-4"})
    assert [p.id for p in rules.practitioners] == ["ann-lee", "bo-chan", "cy"]
    assert [p.name for p in rules.practitioners] == ["Ann Lee", "Bo Chan", "Cy"]
    assert rules.closes == time(18) and rules.open_weekdays == frozenset({0, 2})
    assert rules.course_sessions == (2, 4)


def test_areas_from_json_and_unknown_overrides_refused():
    from booking.settings import load_booking_settings

    rules = clinic_rules("Europe/London", {"CLINIC_AREAS": '[{"id": "lips", "name": "Lips", "minutes": 15}]'})
    assert [(a.id, a.minutes) for a in rules.areas] == [("lips", 15)]
    env = {"CLINIC_DATA_DIR": "/tmp/unused", "CLINIC_STAFF_TOKEN": "s", "CLINIC_SECRET_KEY": "k",
           "CLINIC_TIMEZONE": "America/New_York", "CLINIC_BOOKING_HORIZON_DAYS": "30"}
    settings = load_booking_settings(env, practitioners=["One", "Two", "Three"], spacing_days=42)
    assert settings.rules.timezone.key == "America/New_York" and settings.rules.horizon_days == 30
    assert len(settings.rules.practitioners) == 3 and settings.rules.spacing_days == 42
    with pytest.raises(TypeError):
        load_booking_settings(env, opening_time="09:00")
    # Turnover is at most half a day: the reads of busy bookings look back LONGEST_BLOCK, no further.
    assert load_booking_settings(env, turnover_minutes=MAX_TURNOVER_MINUTES).rules.turnover_minutes == 720
    with pytest.raises(ValueError):
        load_booking_settings({**env, "CLINIC_BOOKING_TURNOVER_MINUTES": str(MAX_TURNOVER_MINUTES + 1)})


def test_same_names_get_distinct_ids_and_an_empty_list_is_refused():
    assert [p.id for p in practitioners_from_names(["Jo", "Jo"])] == ["jo", "jo-2"]
    with pytest.raises(ValueError):
        practitioners_from_names(" , ")


# ----- opening hours -------------------------------------------------------------------------

@pytest.mark.parametrize("start,minutes,expected", [
    ((8, 0), 60, None),
    ((16, 30), 60, None),  # the last 60-minute start, ends 17:30 exactly
    ((16, 45), 60, "outside_opening_hours"),  # would end 17:45
    ((17, 0), 30, None),
    ((17, 15), 30, "outside_opening_hours"),
    ((17, 30), 15, "outside_opening_hours"),  # starts at closing
    ((7, 45), 30, "outside_opening_hours"),  # starts before opening
    ((7, 45), 15, "outside_opening_hours"),  # ends exactly at opening, still outside
])
def test_start_and_end_must_be_inside_hours(start, minutes, expected):
    begin = at(TUESDAY, *start)
    assert code_of(lambda: check_opening_hours(begin, begin + timedelta(minutes=minutes), RULES)) == expected


def test_sunday_and_closures_are_closed_days():
    assert not is_open_day(SUNDAY, RULES)
    assert is_open_day(TUESDAY, RULES)
    assert not is_open_day(TUESDAY, RULES, {TUESDAY})
    assert code_of(lambda: check_opening_hours(at(SUNDAY, 10), at(SUNDAY, 11), RULES)) == "outside_opening_hours"
    assert code_of(lambda: check_opening_hours(at(TUESDAY, 10), at(TUESDAY, 11), RULES, {TUESDAY})) == "clinic_closed"
    assert code_of(lambda: check_opening_hours(at(date(2026, 12, 5), 10), at(date(2026, 12, 5), 11), RULES)) is None


def test_hours_are_local_time_whatever_the_offset_of_the_request():
    summer = date(2026, 7, 7)  # BST: 08:00 local is 07:00 UTC
    start = datetime(2026, 7, 7, 7, 0, tzinfo=timezone.utc)
    assert code_of(lambda: check_opening_hours(start, start + timedelta(hours=1), RULES)) is None
    early = datetime(2026, 7, 7, 6, 45, tzinfo=timezone.utc)  # 07:45 local
    assert code_of(lambda: check_opening_hours(early, early + timedelta(hours=1), RULES)) == "outside_opening_hours"
    assert at(summer, 8) == start


# ----- grid ----------------------------------------------------------------------------------

@pytest.mark.parametrize("hh,mm,ok", [(8, 0, True), (8, 15, True), (9, 45, True), (16, 30, True),
                                      (8, 10, False), (9, 1, False), (12, 50, False)])
def test_starts_lie_on_the_15_minute_grid(hh, mm, ok):
    assert on_grid(at(TUESDAY, hh, mm), RULES) is ok
    assert code_of(lambda: check_grid(at(TUESDAY, hh, mm), RULES)) == (None if ok else "invalid_slot")


def test_seconds_are_off_the_grid_and_utc_offsets_are_judged_locally():
    assert not on_grid(at(TUESDAY, 9).replace(second=30), RULES)
    # 09:00 in New York is 14:00 in London: on the grid.
    assert on_grid(datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York")), RULES)
    # +05:30 shifts by half an hour plus a quarter: 09:00+05:30 is 03:30 UTC, on the grid; 09:10 is not.
    assert not on_grid(datetime.fromisoformat("2026-12-01T09:10:00+05:30"), RULES)


def test_grid_starts_of_a_day_end_with_the_last_fitting_start():
    starts = grid_starts(TUESDAY, timedelta(minutes=60), RULES)
    assert starts[0] == at(TUESDAY, 8) and starts[-1] == at(TUESDAY, 16, 30)
    assert len(starts) == (16 * 60 + 30 - 8 * 60) // 15 + 1
    assert grid_starts(TUESDAY, timedelta(minutes=30), RULES)[-1] == at(TUESDAY, 17)


@pytest.mark.parametrize("day,offset_hours", [(date(2026, 3, 28), 0), (date(2026, 3, 30), 1),
                                              (date(2026, 10, 24), 1), (date(2026, 10, 26), 0)])
def test_grid_keeps_local_wall_clock_around_dst(day, offset_hours):
    starts = grid_starts(day, timedelta(minutes=60), RULES)
    assert starts[0].astimezone(LONDON).time() == time(8)
    assert starts[0].utcoffset() == timedelta(hours=offset_hours)
    assert starts[-1].astimezone(LONDON).time() == time(16, 30)


def test_dst_days_themselves_keep_the_grid_when_open():
    # Open every day for this test, so the Sunday changes themselves are checked.
    rules = clinic_rules("Europe/London", {"CLINIC_BOOKING_OPEN_DAYS": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
                                           "CLINIC_BOOKING_OPENS": "00:00", "CLINIC_BOOKING_CLOSES": "04:00"})
    spring = [s.astimezone(timezone.utc).astimezone(LONDON).strftime("%H:%M") for s in grid_starts(SPRING_FORWARD, timedelta(minutes=15), rules)]
    assert "01:00" not in spring and "01:45" not in spring  # those wall times do not exist
    assert "00:45" in spring and "02:00" in spring
    assert len(set(s.timestamp() for s in grid_starts(SPRING_FORWARD, timedelta(minutes=15), rules))) == len(spring)
    autumn = grid_starts(FALL_BACK, timedelta(minutes=15), rules)
    assert autumn[0].astimezone(LONDON).time() == time(0)
    assert autumn[-1].astimezone(LONDON).time() == time(3, 45)


# ----- notice and horizon --------------------------------------------------------------------

def test_notice_and_horizon():
    assert too_soon(NOW - timedelta(days=1), NOW, RULES)  # the past
    assert too_soon(NOW + timedelta(minutes=119), NOW, RULES)
    assert not too_soon(NOW + timedelta(minutes=120), NOW, RULES)
    assert not too_far_ahead(NOW + timedelta(days=365), NOW, RULES)
    assert too_far_ahead(NOW + timedelta(days=365, minutes=15), NOW, RULES)
    assert code_of(lambda: check_notice(NOW + timedelta(hours=1), NOW, RULES)) == "too_soon"
    assert code_of(lambda: check_notice(NOW + timedelta(days=400), NOW, RULES)) == "too_far_ahead"
    assert code_of(lambda: check_notice(NOW + timedelta(days=3), NOW, RULES)) is None


# ----- session length ------------------------------------------------------------------------

def test_session_length_of_areas_and_consultations():
    assert session_minutes(["neck", "hands"], RULES) == 60
    assert not session_too_long(60, RULES) and session_too_long(61, RULES)
    assert duration_of("treatment", ["neck", "hands"], RULES) == timedelta(minutes=60)
    assert duration_of("treatment", ["scalp"], RULES) == timedelta(minutes=45)
    assert duration_of("consultation", [], RULES) == timedelta(minutes=30)
    assert code_of(lambda: duration_of("treatment", ["face", "neck"], RULES)) == "session_too_long"
    assert code_of(lambda: duration_of("treatment", ["decolletage", "hands"], RULES)) == "session_too_long"
    assert unknown_areas(["face", "elbow"], RULES) == ["elbow"]


# ----- spacing -------------------------------------------------------------------------------

def test_spacing_both_directions_with_earliest_start():
    booked = at(date(2026, 12, 1), 10)
    assert earliest_allowed_start(at(date(2026, 12, 29), 10), [booked], RULES) is None  # exactly 28 days
    assert earliest_allowed_start(at(date(2026, 11, 3), 10), [booked], RULES) is None  # 28 days before
    assert earliest_allowed_start(at(date(2026, 12, 29), 9, 45), [booked], RULES) == at(date(2026, 12, 29), 10)
    # A session before the booked one but too close to it: the earliest start is after the booked one.
    assert earliest_allowed_start(at(date(2026, 11, 20), 10), [booked], RULES) == at(date(2026, 12, 29), 10)
    with pytest.raises(RuleViolation) as caught:
        check_spacing(at(date(2026, 12, 15), 10), [booked], RULES)
    assert caught.value.code == "treatment_spacing"
    assert caught.value.details["earliest_start"] == at(date(2026, 12, 29), 10).isoformat()


def test_spacing_pushes_past_every_clash():
    booked = [at(date(2027, 1, 26), 10), at(date(2026, 12, 29), 10)]
    assert earliest_allowed_start(at(date(2026, 12, 15), 10), booked, RULES) == at(date(2027, 2, 23), 10)


def test_spacing_counts_wall_clock_days_across_dst():
    before = at(date(2026, 3, 3), 9)  # GMT
    after = at(date(2026, 3, 31), 9)  # BST: 28 days less one hour in absolute time
    assert earliest_allowed_start(after, [before], RULES) is None
    assert earliest_allowed_start(at(date(2026, 3, 31), 8, 45), [before], RULES) == after


def test_consultations_are_exempt_from_spacing():
    booked = [at(date(2026, 12, 1), 10)]
    start = at(date(2026, 12, 3), 10)
    assert check_session("consultation", [], start, NOW, RULES, (), booked) == start + timedelta(minutes=30)
    assert code_of(lambda: check_session("treatment", ["neck"], start, NOW, RULES, (), booked)) == "treatment_spacing"


# ----- practitioners and turnover ------------------------------------------------------------

def test_turnover_between_bookings_of_one_practitioner():
    rules = clinic_rules("Europe/London", {"CLINIC_PRACTITIONERS": "Solo"})
    busy = [Busy("solo", at(TUESDAY, 9), at(TUESDAY, 10))]
    assert free_practitioners(at(TUESDAY, 10), at(TUESDAY, 10, 30), busy, rules) == []  # inside turnover
    assert [p.id for p in free_practitioners(at(TUESDAY, 10, 15), at(TUESDAY, 11), busy, rules)] == ["solo"]
    assert free_practitioners(at(TUESDAY, 8, 30), at(TUESDAY, 9), busy, rules) == []  # ends at its start
    assert [p.id for p in free_practitioners(at(TUESDAY, 8), at(TUESDAY, 8, 45), busy, rules)] == ["solo"]
    assert free_practitioners(at(TUESDAY, 9, 30), at(TUESDAY, 9, 45), busy, rules) == []


def test_choice_spreads_work_and_returns_none_when_all_busy():
    a, b = RULES.practitioners
    busy = [Busy(a.id, at(TUESDAY, 9), at(TUESDAY, 10))]
    assert choose_practitioner(at(TUESDAY, 12), at(TUESDAY, 13), busy, RULES) == b  # a already worked today
    assert choose_practitioner(at(TUESDAY, 9, 30), at(TUESDAY, 10), busy, RULES) == b
    busy.append(Busy(b.id, at(TUESDAY, 9), at(TUESDAY, 9, 30)))
    assert choose_practitioner(at(TUESDAY, 9, 30), at(TUESDAY, 10), busy, RULES) is None
    assert choose_practitioner(at(TUESDAY, 12), at(TUESDAY, 13), [], RULES) == a  # list order on a tie


# ----- availability --------------------------------------------------------------------------

def test_day_slots_count_free_practitioners_and_skip_full_ones():
    a, b = RULES.practitioners
    busy = [Busy(a.id, at(TUESDAY, 9), at(TUESDAY, 10)), Busy(b.id, at(TUESDAY, 9), at(TUESDAY, 10))]
    slots = day_slots(TUESDAY, timedelta(minutes=30), RULES, NOW, busy)
    by_start = {s.start.astimezone(LONDON).strftime("%H:%M"): s.practitioners_free for s in slots}
    assert by_start["08:00"] == 2 and by_start["08:15"] == 2  # 08:15-08:45, turnover until 09:00
    assert "08:30" not in by_start and "09:45" not in by_start  # into the 09:00 bookings' turnover
    assert by_start["10:15"] == 2 and max(by_start) == "17:00"
    sixty = [s.start for s in day_slots(TUESDAY, timedelta(minutes=60), RULES, NOW, busy)]
    assert at(TUESDAY, 8) not in sixty and sixty[0] == at(TUESDAY, 10, 15) and sixty[-1] == at(TUESDAY, 16, 30)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_day_slots_empty_on_closed_days_and_respect_notice():
    assert day_slots(SUNDAY, timedelta(minutes=30), RULES, NOW) == []
    assert day_slots(TUESDAY, timedelta(minutes=30), RULES, NOW, closed_dates={TUESDAY}) == []
    now = at(TUESDAY, 10)
    first = day_slots(TUESDAY, timedelta(minutes=30), RULES, now)[0]
    assert first.start == at(TUESDAY, 12)
    assert day_slots(TUESDAY, timedelta(minutes=30), RULES, at(TUESDAY, 16)) == []
    assert day_slots(TUESDAY, timedelta(minutes=30), RULES, NOW - timedelta(days=400)) == []  # beyond horizon


def test_slot_times_are_written_in_local_time_with_the_offset_of_each_instant_on_dst_nights():
    """The texts the answers carry, kept formatted with the day's grid, for a clinic open from midnight: the
    same as to_local_iso of each slot's start and end, and what they have always said (a session's end is
    wall-clock time: 00:30 + 60 minutes is 01:30 GMT on the night 01:00 does not exist)."""
    rules = replace(RULES, opens=time(0), closes=time(4), open_weekdays=frozenset(range(7)), min_notice_minutes=0)
    texts = {}
    for day in (SPRING_FORWARD, FALL_BACK):
        for slot in day_slots(day, timedelta(minutes=60), rules, at(SPRING_FORWARD, 0) - timedelta(days=1)):
            assert (slot.start_text, slot.end_text) == (to_local_iso(slot.start, LONDON), to_local_iso(slot.end, LONDON))
            texts[slot.start_text] = slot.end_text
    assert texts["2026-03-29T00:30:00+00:00"] == "2026-03-29T01:30:00+00:00"
    assert texts["2026-03-29T02:00:00+01:00"] == "2026-03-29T03:00:00+01:00"  # the first start after the gap
    assert "2026-03-29T01:00:00+00:00" not in texts and "2026-03-29T01:00:00+01:00" not in texts
    assert texts["2026-10-25T00:45:00+01:00"] == "2026-10-25T01:45:00+01:00"
    assert texts["2026-10-25T01:30:00+01:00"] == "2026-10-25T02:30:00+00:00"  # 01:30 BST, its end after the change
    assert texts["2026-10-25T02:00:00+00:00"] == "2026-10-25T03:00:00+00:00"


def test_days_between_is_inclusive():
    assert days_between(date(2026, 12, 30), date(2027, 1, 2)) == [
        date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]


# ----- screening -----------------------------------------------------------------------------

def test_screening_rules_for_treatments_and_consultations():
    valid = NOW + timedelta(days=30)
    assert code_of(lambda: check_screening(ScreeningStatus("eligible", valid), "treatment", NOW)) is None
    for outcome in ("consultation_required", "not_suitable"):
        assert code_of(lambda: check_screening(ScreeningStatus(outcome, valid), "treatment", NOW)) == "screening_not_eligible"
        assert code_of(lambda: check_screening(ScreeningStatus(outcome, valid), "consultation", NOW)) is None
    expired = ScreeningStatus("eligible", NOW - timedelta(seconds=1))
    assert code_of(lambda: check_screening(expired, "treatment", NOW)) == "screening_expired"
    assert code_of(lambda: check_screening(expired, "consultation", NOW)) == "screening_expired"


# ----- all rules together --------------------------------------------------------------------

def test_check_session_reports_each_rule():
    check = lambda start, areas=("face",), kind="treatment": code_of(  # noqa: E731
        lambda: check_session(kind, list(areas), start, NOW, RULES))
    assert check(at(TUESDAY, 16, 30)) is None
    assert check(at(TUESDAY, 16, 45)) == "outside_opening_hours"
    assert check(at(TUESDAY, 9, 5)) == "invalid_slot"
    assert check(at(SUNDAY, 10)) == "outside_opening_hours"
    assert check(NOW + timedelta(hours=1)) == "too_soon"
    assert check(at(date(2028, 1, 4), 10)) == "too_far_ahead"
    assert check(at(TUESDAY, 10), ("face", "hands")) == "session_too_long"
    assert check(at(TUESDAY, 17), (), "consultation") is None


# ----- courses -------------------------------------------------------------------------------

def test_course_keeps_local_wall_clock_time_across_dst():
    starts = course_starts(at(date(2026, 2, 17), 9), 4, 4, RULES)  # crosses 29 March
    assert [s.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") for s in starts] == [
        "2026-02-17 09:00", "2026-03-17 09:00", "2026-04-14 09:00", "2026-05-12 09:00"]
    assert starts[0].utcoffset() == timedelta(0) and starts[2].utcoffset() == timedelta(hours=1)
    autumn = course_starts(at(date(2026, 10, 6), 16, 30), 3, 6, RULES)
    assert [s.astimezone(LONDON).time() for s in autumn] == [time(16, 30)] * 3
    assert autumn[1].utcoffset() == timedelta(0)


def test_course_shape_bounds():
    assert course_shape_errors(3, 4, RULES) == {} and course_shape_errors(6, 6, RULES) == {}
    assert set(course_shape_errors(2, 4, RULES)) == {"sessions"}
    assert set(course_shape_errors(7, 3, RULES)) == {"sessions", "interval_weeks"}
    assert set(course_shape_errors(4, 7, RULES)) == {"interval_weeks"}
