"""The timing rules of CLINIC.md "Messages", as plain functions."""
from datetime import datetime, timedelta, timezone

import pytest

from notifications.domain import schedule
from notifications.settings import NotificationSettings, load_settings

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


@pytest.fixture
def timings(tmp_path):
    return load_settings({"CLINIC_DATA_DIR": str(tmp_path)})


def kinds(planned):
    return {p.kind: p.send_at for p in planned}


def test_treatment_confirmation_plans_every_message(timings):
    plan = kinds(schedule.confirmation_plan("treatment", START, END, NOW, timings))
    assert plan == {
        "pre_treatment": NOW,
        "appointment_reminder": START - timedelta(hours=24),
        "aftercare": END,
        "aftercare_check_in": END + timedelta(hours=48),
        "next_session_reminder": END + timedelta(weeks=6),
    }


def test_consultation_confirmation_plans_confirmation_and_reminder(timings):
    plan = kinds(schedule.confirmation_plan("consultation", START, END, NOW, timings))
    assert plan == {"consultation_confirmation": NOW, "appointment_reminder": START - timedelta(hours=24)}


@pytest.mark.parametrize("ahead, reminded", [
    (timedelta(hours=23, minutes=59), False),
    (timedelta(hours=2), False),
    (timedelta(hours=24), True),  # exactly a day ahead: the reminder is due now
    (timedelta(hours=24, minutes=1), True),
])
def test_reminder_only_for_bookings_made_a_day_ahead(timings, ahead, reminded):
    start = NOW + ahead
    for booking_type in ("treatment", "consultation"):
        plan = kinds(schedule.confirmation_plan(booking_type, start, start + timedelta(minutes=30), NOW, timings))
        assert ("appointment_reminder" in plan) is reminded


def test_timings_come_from_configuration(tmp_path):
    timings = load_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_NOTIFICATIONS_REMINDER_BEFORE_HOURS": "48",
                             "CLINIC_NOTIFICATIONS_CHECK_IN_AFTER_END_HOURS": "72",
                             "CLINIC_NOTIFICATIONS_NEXT_SESSION_AFTER_END_DAYS": "56",
                             "CLINIC_NOTIFICATIONS_AFTERCARE_AFTER_END_MINUTES": "15"})
    plan = kinds(schedule.confirmation_plan("treatment", START, END, NOW, timings))
    assert plan["appointment_reminder"] == START - timedelta(hours=48)
    assert plan["aftercare"] == END + timedelta(minutes=15)
    assert plan["aftercare_check_in"] == END + timedelta(hours=72)
    assert plan["next_session_reminder"] == END + timedelta(days=56)


def test_completion_brings_aftercare_forward_and_counts_follow_ups_from_it(timings):
    completed = END - timedelta(minutes=20)  # the session ended early
    times = schedule.completion_times(completed, END, timings)
    assert times == {"aftercare": completed, "aftercare_check_in": completed + timedelta(hours=48),
                     "next_session_reminder": completed + timedelta(weeks=6)}


def test_completion_keeps_an_aftercare_already_due_earlier(timings):
    completed = END + timedelta(hours=3)  # marked completed late in the day
    assert schedule.completion_times(completed, END, timings)["aftercare"] == END
    assert schedule.completion_times(completed, None, timings)["aftercare"] == completed


@pytest.mark.parametrize("outcome, sends", [("eligible", False), ("consultation_required", True),
                                            ("not_suitable", True)])
def test_screening_result_only_for_outcomes_that_stop_a_booking(outcome, sends):
    assert schedule.screening_sends_result(outcome) is sends


def test_confirmation_kind():
    assert schedule.confirmation_kind("treatment") == "pre_treatment"
    assert schedule.confirmation_kind("consultation") == "consultation_confirmation"


@pytest.mark.parametrize("attempts, minutes", [(1, 1), (2, 2), (3, 4), (4, 8), (7, 60), (30, 60)])
def test_retry_delay_grows_and_is_capped(attempts, minutes):
    assert schedule.retry_delay(attempts, timedelta(minutes=1), timedelta(hours=1)) == timedelta(minutes=minutes)


def test_settings_defaults_are_the_clinics(timings):
    assert isinstance(timings, NotificationSettings)
    assert timings.reminder_before == timedelta(hours=24)
    assert timings.check_in_after_end == timedelta(hours=48)
    assert timings.next_session_after_end == timedelta(weeks=6)
    assert timings.aftercare_after_end == timedelta(0)
    assert timings.delivery_give_up == timedelta(hours=24) and timings.smtp_url is None
    assert timings.area_name("decolletage") == "Décolletage" and timings.area_name("new_area") == "New area"


def test_delivery_give_up_and_smtp_timeout_come_from_the_environment(tmp_path):
    settings = load_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_DELIVERY_GIVE_UP_HOURS": "6",
                              "CLINIC_NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "10"})
    assert settings.delivery_give_up == timedelta(hours=6) and settings.smtp_timeout_seconds == 10


def test_a_lease_a_send_could_outlive_is_refused(tmp_path):
    with pytest.raises(ValueError, match="SENDING_LEASE"):
        load_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_NOTIFICATIONS_SENDING_LEASE_SECONDS": "60",
                       "CLINIC_NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "30"})
