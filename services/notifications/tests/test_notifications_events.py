"""Events, fed as real envelopes through the InboxProcessor, schedule, move and cancel messages."""
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from zoneinfo import ZoneInfo

from clinic_shared.db import make_engine
from clinic_shared.migrations import upgrade

LONDON = ZoneInfo("Europe/London")

START = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)  # 11 days after the test clock's now
END = START + timedelta(hours=1)


def test_confirmed_treatment_schedules_every_message(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    got = system.by_kind("b1")
    assert {k: (r.send_at, r.status) for k, r in got.items()} == {
        "pre_treatment": (clock.now, "scheduled"),
        "appointment_reminder": (START - timedelta(hours=24), "scheduled"),
        "aftercare": (END, "scheduled"),
        "aftercare_check_in": (END + timedelta(hours=48), "scheduled"),
        "next_session_reminder": (END + timedelta(weeks=6), "scheduled"),
    }
    pre = got["pre_treatment"]
    assert pre.to_address == "ada@example.org" and pre.client_id == "c1" and "REF-B1" in pre.subject
    assert "UID:booking-b1@" in pre.calendar and "SEQUENCE:0" in pre.calendar
    assert got["aftercare"].calendar is None


def test_booking_less_than_a_day_ahead_has_no_reminder(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(start=clock.now + timedelta(hours=5)))
    assert set(system.by_kind("b1")) == {"pre_treatment", "aftercare", "aftercare_check_in",
                                         "next_session_reminder"}


def test_consultation_schedules_confirmation_and_reminder(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(type="consultation", minutes=30))
    got = system.by_kind("b1")
    assert set(got) == {"consultation_confirmation", "appointment_reminder"}
    assert got["consultation_confirmation"].send_at == clock.now and got["consultation_confirmation"].calendar


def test_same_event_twice_schedules_once(system, booking_data):
    envelope = system.deliver("booking.confirmed", booking_data())
    assert system.processor.process(envelope) is False  # redelivered: the inbox knows it
    another = system.deliver("booking.confirmed", booking_data())  # the same fact, another event id
    assert another["event_id"] != envelope["event_id"]
    assert len(system.messages("b1")) == 5


def test_cancellation_cancels_what_is_unsent_and_sends_cancellation(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    system.dispatcher.dispatch_due()  # pre_treatment goes out
    system.deliver("booking.cancelled", booking_data(status="cancelled", reason="Away that week"))
    got = system.by_kind("b1")
    assert got["pre_treatment"].status == "sent"
    for kind in ("appointment_reminder", "aftercare", "aftercare_check_in", "next_session_reminder"):
        assert got[kind].status == "cancelled", kind
    cancellation = got["cancellation"]
    assert cancellation.status == "scheduled" and cancellation.send_at == clock.now
    assert "Reason given: Away that week" in cancellation.body_text
    assert "METHOD:CANCEL" in cancellation.calendar and "SEQUENCE:1" in cancellation.calendar
    system.deliver("booking.cancelled", booking_data(status="cancelled"))  # reported twice
    assert [r.kind for r in system.messages("b1")].count("cancellation") == 1


def test_reschedule_moves_unsent_messages_and_sends_a_new_invitation(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    system.dispatcher.dispatch_due()
    new_start = START + timedelta(days=7, hours=2)  # 8 December, 11:00
    system.deliver("booking.rescheduled", booking_data(start=new_start, previous_start=START.isoformat(),
                                                       previous_end=END.isoformat()))
    rows = system.messages("b1")
    scheduled = {r.kind: r for r in rows if r.status == "scheduled"}
    new_end = new_start + timedelta(hours=1)
    assert scheduled["appointment_reminder"].send_at == new_start - timedelta(hours=24)
    assert "Tuesday 8 December 2026 at 11:00" in scheduled["appointment_reminder"].subject
    assert scheduled["aftercare"].send_at == new_end
    assert scheduled["aftercare_check_in"].send_at == new_end + timedelta(hours=48)
    assert scheduled["next_session_reminder"].send_at == new_end + timedelta(weeks=6)
    invitations = [r for r in rows if r.kind == "pre_treatment"]
    assert [r.status for r in invitations] == ["sent", "scheduled"]
    again = invitations[1]
    assert again.send_at == clock.now and "11:00" in again.body_text
    assert "SEQUENCE:1" in again.calendar and "DTSTART;TZID=Europe/London:20261208T110000" in again.calendar
    assert len(rows) == 6  # moved, not duplicated


def test_reschedule_to_less_than_a_day_ahead_cancels_the_reminder(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    soon = clock.now + timedelta(hours=6)
    system.deliver("booking.rescheduled", booking_data(start=soon, previous_start=START.isoformat(),
                                                       previous_end=END.isoformat()))
    reminders = [r for r in system.messages("b1") if r.kind == "appointment_reminder"]
    assert [r.status for r in reminders] == ["cancelled"]
    # the unsent first invitation is superseded by the new one, not sent with the old time
    assert [r.status for r in system.messages("b1") if r.kind == "pre_treatment"] == ["cancelled", "scheduled"]


def test_reschedule_far_ahead_adds_a_reminder_that_was_never_planned(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(start=clock.now + timedelta(hours=5)))
    later = START + timedelta(days=3)
    system.deliver("booking.rescheduled", booking_data(start=later, previous_start=START.isoformat(),
                                                       previous_end=END.isoformat()))
    assert system.by_kind("b1", status="scheduled")["appointment_reminder"].send_at == later - timedelta(hours=24)


def test_completion_sends_aftercare_at_once_and_counts_from_it(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    clock.now = START + timedelta(minutes=40)  # the session ends 20 minutes early
    system.deliver("booking.completed", booking_data(status="completed", completed_at=clock.now.isoformat()))
    got = system.by_kind("b1", status="scheduled")
    assert got["aftercare"].send_at == clock.now
    assert got["aftercare_check_in"].send_at == clock.now + timedelta(hours=48)
    assert got["next_session_reminder"].send_at == clock.now + timedelta(weeks=6)


def test_completion_cancels_a_reminder_not_yet_due(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    completed_at = clock.now + timedelta(hours=1)  # staff complete it long before the reminder
    system.deliver("booking.completed", booking_data(status="completed", completed_at=completed_at.isoformat()))
    assert system.by_kind("b1")["appointment_reminder"].status == "cancelled"


def test_completion_without_the_confirmation_plans_the_follow_ups(system, clock, booking_data):
    system.deliver("booking.completed", booking_data(status="completed", completed_at=END.isoformat()))
    assert set(system.by_kind("b1")) == {"aftercare", "aftercare_check_in", "next_session_reminder"}


def test_late_confirmation_after_cancellation_schedules_nothing(system, booking_data):
    system.deliver("booking.cancelled", booking_data(status="cancelled"))
    system.deliver("booking.confirmed", booking_data())
    assert set(system.by_kind("b1")) == {"cancellation"}


def test_screening_outcomes_that_need_a_consultation_send_a_result(system, screening_data):
    system.deliver("screening.completed", screening_data("eligible"))
    assert system.messages() == []
    system.deliver("screening.completed", screening_data("consultation_required"))
    [result] = system.messages()
    assert result.kind == "screening_result" and result.booking_id is None and result.client_id == "c1"
    assert "consultation first" in result.subject and "book a consultation" in result.body_text
    assert f"{system.settings.public_url}/\n" in result.body_text  # where, signed in, the client reads why
    system.deliver("screening.completed", screening_data("consultation_required"))  # the same fact again
    assert len(system.messages()) == 1


REASON = {"code": "pregnant_or_breastfeeding", "message": "Treatment is not offered during pregnancy."}


def test_a_version_1_event_still_in_flight_is_handled_and_its_reasons_kept_nowhere(system, screening_data):
    system.deliver("screening.completed", dict(screening_data("not_suitable"), reasons=[REASON]), version=1)
    [result] = system.messages()
    assert "not suitable" in result.subject
    stored = f"{result.subject}\n{result.body_text}"
    assert REASON["code"] not in stored and "pregnan" not in stored.lower()


def test_declined_clearance_sends_a_second_result_and_approval_none(system, screening_data):
    cleared = dict(screening_data("not_suitable"), previous_outcome="consultation_required", decision="declined",
                   decided_at="2026-11-21T10:00:00+00:00")
    system.deliver("screening.completed", screening_data("consultation_required"))
    system.deliver("screening.cleared", cleared)
    system.deliver("screening.cleared", dict(cleared, screening_id="s2", outcome="eligible", decision="approved"))
    rows = system.messages()
    assert [r.kind for r in rows] == ["screening_result", "screening_result"]
    assert "not suitable" in rows[1].subject and "book a consultation" in rows[1].body_text


def test_an_event_that_fails_leaves_nothing_behind(system, booking_data):
    bad = booking_data()
    bad["start"] = "not a date"
    try:
        system.deliver("booking.confirmed", bad)
    except ValueError:
        pass
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(system.tables.inbox)) == 0
    assert system.messages() == []


# --- late, repeated and reordered booking events (data.version) ----------------------------------

def rescheduled(booking_data, start, version: int | None):
    """A `booking.rescheduled`; without a version when `version` is None (as published before versions)."""
    return booking_data(start=start, previous_start=START.isoformat(), previous_end=END.isoformat(),
                        **({} if version is None else {"version": version}))


def test_a_late_reschedule_after_the_cancellation_changes_nothing(system, clock, booking_data):
    """The reported defect: confirmed (v1), cancelled (v3), then the reschedule (v2) that came before it."""
    new_start = START + timedelta(days=7)
    system.deliver("booking.confirmed", booking_data(version=1))
    system.deliver("booking.cancelled", booking_data(start=new_start, status="cancelled", version=3))
    before = system.messages("b1")
    system.deliver("booking.rescheduled", rescheduled(booking_data, new_start, version=2))
    assert system.messages("b1") == before
    assert [r.kind for r in system.messages("b1") if r.status == "scheduled"] == ["cancellation"]


def test_a_reschedule_before_its_confirmation_plans_for_the_final_time(system, clock, booking_data):
    new_start = START + timedelta(days=7)
    system.deliver("booking.rescheduled", rescheduled(booking_data, new_start, version=2))
    system.deliver("booking.confirmed", booking_data(version=1))  # late: old news
    got = system.by_kind("b1")
    assert {k: r.send_at for k, r in got.items()} == {
        "pre_treatment": clock.now, "appointment_reminder": new_start - timedelta(hours=24),
        "aftercare": new_start + timedelta(hours=1), "aftercare_check_in": new_start + timedelta(hours=49),
        "next_session_reminder": new_start + timedelta(hours=1, weeks=6)}
    assert "SEQUENCE:1" in got["pre_treatment"].calendar  # version 2: one change after the booking
    with system.sessions() as session:
        assert system.repo.booking(session, "b1").version == 2


def test_a_repeated_cancellation_keeps_the_cancellation(system, booking_data):
    system.deliver("booking.confirmed", booking_data(version=1))
    system.deliver("booking.cancelled", booking_data(status="cancelled", version=2))
    system.deliver("booking.cancelled", booking_data(status="cancelled", version=2))  # republished copy
    assert [(r.kind, r.status) for r in system.messages("b1") if r.kind == "cancellation"] == [
        ("cancellation", "scheduled")]


def test_a_late_reschedule_after_the_completion_changes_nothing(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(version=1))
    completed_at = END + timedelta(minutes=30)
    system.deliver("booking.completed", booking_data(status="completed", completed_at=completed_at.isoformat(),
                                                     version=3))
    before = system.messages("b1")
    system.deliver("booking.rescheduled", rescheduled(booking_data, START + timedelta(days=7), version=2))
    assert system.messages("b1") == before
    assert set(system.by_kind("b1", status="scheduled")) == {"aftercare", "aftercare_check_in",
                                                             "next_session_reminder"}


def test_events_without_a_version_are_ordered_by_state_as_before(system, clock, booking_data):
    """Published before the booking service raised versions (in flight at the upgrade)."""
    system.deliver("booking.confirmed", booking_data())
    new_start = START + timedelta(days=7)
    system.deliver("booking.rescheduled", rescheduled(booking_data, new_start, version=None))
    assert system.by_kind("b1", status="scheduled")["appointment_reminder"].send_at == new_start - timedelta(hours=24)
    system.deliver("booking.cancelled", booking_data(start=new_start, status="cancelled", version=3))  # upgraded
    with system.sessions() as session:
        assert system.repo.booking(session, "b1").version == 3
    system.deliver("booking.rescheduled", rescheduled(booking_data, START + timedelta(days=9), version=None))
    assert [r.kind for r in system.messages("b1") if r.status == "scheduled"] == ["cancellation"]


def test_a_booking_projected_before_the_upgrade_takes_versioned_events(request, database_url, booking_data):
    """Migration 0003 leaves the version of bookings known before it empty: only unversioned events were
    applied to them, so the first versioned event is news (and a late unversioned one still is not, after it
    was cancelled)."""
    upgrade("notifications", database_url, "0002")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            'INSERT INTO bookings (booking_id, client_id, type, status, start, "end", calendar_sequence, updated_at) '
            "VALUES ('b1', 'c1', 'treatment', 'confirmed', :start, :end, 0, :start)"),
            {"start": START.isoformat(), "end": END.isoformat()})
    engine.dispose()
    system = request.getfixturevalue("system")  # migrates to the newest revision
    with system.sessions() as session:
        assert system.repo.booking(session, "b1").version is None
    system.deliver("booking.cancelled", booking_data(status="cancelled", version=2))
    system.deliver("booking.rescheduled", rescheduled(booking_data, START + timedelta(days=7), version=None))
    with system.sessions() as session:
        assert system.repo.booking(session, "b1").version == 2
    assert [r.kind for r in system.messages("b1") if r.status == "scheduled"] == ["cancellation"]
