"""The fault run's checker can fail: fed mailboxes with a loss, a duplicate, a message after a cancellation or one
the final state does not call for, it counts each; fed a correct mailbox, it counts nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from notifications.domain.calendar import CalendarEvent, build_ics

from faults.checker import FinalBooking, Received, check, parse_received

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
MOVED = START + timedelta(days=2)


def email(kind: str, notification_id: str, booking: FinalBooking, start: datetime | None = None) -> EmailMessage:
    """An e-mail shaped as the notifications service sends it: headers, reference, and an .ics on invitations."""
    message = EmailMessage()
    message["Subject"] = f"Your appointment (ref. {booking.reference})"
    message["Message-ID"] = f"<{notification_id}@clinic.test>"
    message["X-Clinic-Notification"] = f"{kind}; id={notification_id}"
    message.set_content(f"Reference: {booking.reference}")
    if kind in ("pre_treatment", "cancellation"):
        start = start or booking.start
        message.add_attachment(build_ics(CalendarEvent(
            booking_id=booking.id, sequence=0, start=start, end=start + timedelta(hours=1), summary="s",
            description="d", location="l", organizer_name="Clinic", organizer_email="c@clinic.test",
            attendee_name="Ada", attendee_email="ada@example.org", uid_domain="clinic.test"),
            stamp=START, cancel=kind == "cancellation"), subtype="calendar", filename="appointment.ics")
    return message


def mailbox(*messages: EmailMessage) -> list[Received]:
    return [parse_received(m, order) for order, m in enumerate(messages)]


CONFIRMED = FinalBooking("b-confirmed", "REFC", "confirmed", START)
MOVED_ONCE = FinalBooking("b-moved", "REFM", "confirmed", MOVED)
CANCELLED = FinalBooking("b-cancelled", "REFX", "cancelled", START)
COMPLETED = FinalBooking("b-completed", "REFD", "completed", START)
EVERY = [CONFIRMED, MOVED_ONCE, CANCELLED, COMPLETED]


def correct_mail() -> list[EmailMessage]:
    return [email("pre_treatment", "n1", CONFIRMED),
            email("pre_treatment", "n2", MOVED_ONCE, START), email("pre_treatment", "n3", MOVED_ONCE, MOVED),
            email("pre_treatment", "n4", CANCELLED), email("cancellation", "n5", CANCELLED),
            email("pre_treatment", "n6", COMPLETED), email("aftercare", "n7", COMPLETED)]


def test_a_correct_mailbox_counts_nothing():
    report = check(EVERY, mailbox(*correct_mail()))
    assert report.line() == "lost=0 duplicated=0 after_cancel=0 unwarranted=0" and report.clean


def test_a_cancelled_booking_whose_invitation_was_never_sent_is_fine():
    report = check([CANCELLED], mailbox(email("cancellation", "n5", CANCELLED)))
    assert report.clean, report.details()


def test_each_due_message_that_never_came_is_lost():
    mail = correct_mail()
    del mail[6], mail[4], mail[2]  # aftercare, the cancellation, the invitation with the final start
    report = check(EVERY, mailbox(*mail))
    assert len(report.lost) == 3
    assert {(f.booking_id, f.kind) for f in report.lost} == {
        ("b-moved", "invitation"), ("b-cancelled", "cancellation"), ("b-completed", "aftercare")}
    assert not (report.duplicated or report.after_cancel or report.unwarranted)


def test_a_booking_without_any_message_is_lost():
    lost = check(EVERY, mailbox()).lost
    assert [(f.booking_id, f.kind) for f in lost] == [
        ("b-confirmed", "invitation"), ("b-moved", "invitation"), ("b-cancelled", "cancellation"),
        ("b-completed", "aftercare")]


def test_a_completion_that_overtook_the_invitation_needs_only_aftercare():
    assert check([COMPLETED], mailbox(email("aftercare", "n7", COMPLETED))).clean


def test_the_same_message_id_twice_is_duplicated():
    mail = correct_mail()
    report = check(EVERY, mailbox(*mail, mail[0]))
    assert len(report.duplicated) == 1 and "Message-ID <n1@clinic.test> again" in str(report.duplicated[0])
    assert not (report.lost or report.after_cancel or report.unwarranted)


def test_the_same_content_under_another_id_is_duplicated():
    report = check(EVERY, mailbox(*correct_mail(), email("aftercare", "n8", COMPLETED),
                                  email("pre_treatment", "n9", MOVED_ONCE, MOVED)))
    assert len(report.duplicated) == 2
    assert not (report.lost or report.after_cancel or report.unwarranted)


def test_a_message_after_the_cancellation_is_counted():
    mail = correct_mail()
    mail[3], mail[4] = mail[4], mail[3]  # the invitation arrives after the cancellation
    report = check(EVERY, mailbox(*mail))
    assert len(report.after_cancel) == 1 and report.after_cancel[0].kind == "pre_treatment"
    assert not (report.lost or report.duplicated or report.unwarranted)


def test_messages_the_final_state_does_not_call_for_are_unwarranted():
    stray = FinalBooking("b-unknown", "REFU", "confirmed", START)
    report = check(EVERY, mailbox(*correct_mail(), email("cancellation", "n10", CONFIRMED),
                                  email("aftercare", "n11", CANCELLED),
                                  email("appointment_reminder", "n12", CONFIRMED),
                                  email("pre_treatment", "n13", stray)))
    assert len(report.unwarranted) == 4
    # and both the reminder and the aftercare came after a cancellation of their booking
    assert {(f.booking_id, f.kind) for f in report.after_cancel} == {("b-confirmed", "appointment_reminder"),
                                                                     ("b-cancelled", "aftercare")}
    assert not (report.lost or report.duplicated)


def test_a_message_is_attributed_by_reference_when_it_has_no_invitation():
    [received] = mailbox(email("aftercare", "n7", COMPLETED))
    assert received.reference == "REFD" and received.booking_id is None and received.kind == "aftercare"
    [invitation] = mailbox(email("pre_treatment", "n3", MOVED_ONCE, MOVED))
    assert invitation.booking_id == "b-moved" and invitation.dtstart == "20261203T090000Z"
