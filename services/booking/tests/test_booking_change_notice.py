"""The change notice (CLINIC.md "Treatments": changes by the client) as a plain rule: every side of it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.domain.change_notice import (TOO_LATE_TO_CHANGE, Contact, change_deadline, check_change_allowed,
                                          client_may_change)
from booking.domain.violations import RuleViolation

LONDON = ZoneInfo("Europe/London")
CONTACT = Contact("+44 20 7946 0000", "hello@clinic.test")
START = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)


@pytest.mark.parametrize("before_start, allowed", [
    (timedelta(days=30), True),
    (timedelta(hours=24, seconds=1), True),
    (timedelta(hours=24), True),  # "up to 24 hours before": the very moment is still allowed
    (timedelta(hours=24) - timedelta(microseconds=1), False),
    (timedelta(hours=23, minutes=59), False),
    (timedelta(hours=1), False),
    (timedelta(0), False),
    (-timedelta(hours=1), False),  # started already
    (-timedelta(days=3), False),  # long past
])
def test_a_client_may_change_up_to_the_notice_before_the_start(before_start, allowed):
    now = START - before_start
    assert client_may_change(START, now, 24) is allowed
    if allowed:
        check_change_allowed(START, now, 24, False, CONTACT, LONDON)
    else:
        with pytest.raises(RuleViolation) as caught:
            check_change_allowed(START, now, 24, False, CONTACT, LONDON)
        assert caught.value.code == TOO_LATE_TO_CHANGE


@pytest.mark.parametrize("before_start", [timedelta(days=2), timedelta(hours=23), timedelta(0), -timedelta(hours=5)])
def test_staff_may_change_at_any_time(before_start):
    check_change_allowed(START, START - before_start, 24, True, CONTACT, LONDON)  # no exception


def test_the_refusal_says_how_to_reach_the_clinic_and_until_when_it_was_possible():
    with pytest.raises(RuleViolation) as caught:
        check_change_allowed(START, START - timedelta(hours=2), 24, False, CONTACT, LONDON)
    details = caught.value.details
    assert details["contact"] == {"phone": "+44 20 7946 0000", "email": "hello@clinic.test"}
    assert details["notice_hours"] == 24
    assert details["changeable_until"] == "2026-11-30T10:00:00+00:00"
    assert "+44 20 7946 0000" in caught.value.message and "24 hours" in caught.value.message


@pytest.mark.parametrize("notice_hours", [0, 1, 48, 72])
def test_the_notice_is_a_setting(notice_hours):
    deadline = change_deadline(START, notice_hours)
    assert START - deadline == timedelta(hours=notice_hours)
    assert client_may_change(START, deadline, notice_hours)
    assert not client_may_change(START, deadline + timedelta(seconds=1), notice_hours)


def test_with_no_notice_a_client_may_change_until_the_start_and_not_after():
    assert client_may_change(START, START, 0)
    assert not client_may_change(START, START + timedelta(seconds=1), 0)


@pytest.mark.parametrize("start, deadline_local", [
    # The clocks go forward at 01:00 on Sunday 29 March 2026: 24 elapsed hours before Sunday 10:00 BST
    # is Saturday 09:00 GMT.
    (datetime(2026, 3, 29, 10, 0, tzinfo=LONDON), "2026-03-28T09:00:00+00:00"),
    # The Monday after: both sides in BST, the same wall-clock time the day before.
    (datetime(2026, 3, 30, 10, 0, tzinfo=LONDON), "2026-03-29T10:00:00+01:00"),
    # They go back at 02:00 on Sunday 25 October 2026: 24 hours before Sunday 10:00 GMT is Saturday 11:00 BST.
    (datetime(2026, 10, 25, 10, 0, tzinfo=LONDON), "2026-10-24T11:00:00+01:00"),
    (datetime(2026, 10, 26, 10, 0, tzinfo=LONDON), "2026-10-25T10:00:00+00:00"),
])
def test_the_notice_counts_elapsed_hours_across_a_clock_change(start, deadline_local):
    deadline = change_deadline(start, 24)
    assert start.astimezone(timezone.utc) - deadline.astimezone(timezone.utc) == timedelta(hours=24)
    with pytest.raises(RuleViolation) as caught:
        check_change_allowed(start, deadline + timedelta(minutes=1), 24, False, CONTACT, LONDON)
    assert caught.value.details["changeable_until"] == deadline_local


def test_times_in_any_zone_compare_as_instants():
    utc_now = (START - timedelta(hours=25)).astimezone(timezone.utc)
    assert client_may_change(START, utc_now, 24)
