"""The dispatcher: due messages go out once, through SMTP or the .eml outbox; failures retry with a
backoff and end as `failed`; a claim whose process died is taken again after its lease."""
import smtplib
from datetime import timedelta
from email import message_from_bytes, policy

from notifications.delivery import SmtpTransport, message_id
from notifications.dispatcher import Dispatcher


class FailingTransport:
    def __init__(self, failures, then=None):
        self.failures = failures
        self.then = then
        self.calls = 0

    def send(self, message, notification_id):
        self.calls += 1
        if self.calls <= self.failures:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        if self.then is not None:
            self.then.send(message, notification_id)


def dispatcher_with(system, transport, **overrides):
    return Dispatcher(system.sessions, system.repo, transport, system.settings.with_overrides(**overrides),
                      system.clock)


def test_due_messages_are_written_to_the_eml_outbox_once(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    assert system.dispatcher.dispatch_due() == 1  # only the pre-treatment message is due
    assert system.dispatcher.dispatch_due() == 0
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "sent" and pre.sent_at == clock.now and pre.attempts == 1
    files = list(system.settings.outbox_dir.iterdir())
    assert [f.name for f in files] == [f"{pre.id}.eml"]  # no temporary file left behind
    email = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert email["To"] == "Ada Lovelace <ada@example.org>" and email["Subject"] == pre.subject
    assert email["Message-ID"] == message_id(pre.id, "ikclinics.example")
    assert email["Reply-To"] == system.settings.reply_to
    assert "numbing cream" in email.get_body(("plain",)).get_content()
    [invite] = list(email.iter_attachments())
    assert invite.get_content_type() == "text/calendar" and invite.get_param("method") == "REQUEST"
    assert "UID:booking-b1@" in invite.get_content()


def test_messages_go_out_when_due_and_not_before(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    system.dispatcher.dispatch_due()
    reminder = system.by_kind("b1")["appointment_reminder"]
    clock.now = reminder.send_at - timedelta(seconds=1)
    assert system.dispatcher.dispatch_due() == 0
    clock.now = reminder.send_at
    assert system.dispatcher.dispatch_due() == 1
    assert system.by_kind("b1")["appointment_reminder"].status == "sent"
    clock.now += timedelta(weeks=8)  # everything else is due now
    assert system.dispatcher.dispatch_due() == 3
    assert {r.status for r in system.messages("b1")} == {"sent"}
    assert len(list(system.settings.outbox_dir.glob("*.eml"))) == 5


def test_sent_through_a_real_smtp_server(system, clock, booking_data, smtp_server):
    dispatcher = dispatcher_with(system, SmtpTransport(smtp_server.url, timeout=5))
    system.deliver("booking.confirmed", booking_data())
    assert dispatcher.dispatch_due() == 1
    system.deliver("booking.cancelled", booking_data(status="cancelled"))
    assert dispatcher.dispatch_due() == 1
    assert dispatcher.dispatch_due() == 0
    assert len(smtp_server.messages) == 2
    by_subject = {m["message"]["Subject"]: m for m in smtp_server.messages}
    cancellation = next(m for s, m in by_subject.items() if "cancelled" in s)
    assert cancellation["to"] == ["ada@example.org"] and cancellation["from"] == system.settings.from_address
    invite = next(p for p in cancellation["message"].walk() if p.get_content_type() == "text/calendar")
    assert invite.get_param("method") == "CANCEL"
    assert {r.status for r in system.messages("b1") if r.kind in ("pre_treatment", "cancellation")} == {"sent"}


def test_smtp_url_forms():
    plain = SmtpTransport("smtp://mail.example:2525")
    assert (plain.host, plain.port, plain.ssl, plain.starttls, plain.username) == ("mail.example", 2525, False,
                                                                                   False, None)
    secure = SmtpTransport("smtps://us%40er:p%3Ass@mail.example")
    assert (secure.port, secure.ssl, secure.username, secure.password) == (465, True, "us@er", "p:ss")
    assert SmtpTransport("smtp://mail.example?starttls=1").starttls is True


def test_failure_backs_off_then_succeeds(system, clock, booking_data):
    transport = FailingTransport(failures=2, then=system.outbox)
    dispatcher = dispatcher_with(system, transport)
    system.deliver("booking.confirmed", booking_data(start=clock.now + timedelta(hours=3)))
    assert dispatcher.dispatch_due() == 1
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "scheduled" and pre.attempts == 1 and "SMTPServerDisconnected" in pre.last_error
    assert pre.not_before == clock.now + timedelta(minutes=1) and pre.send_at == clock.now  # due time kept
    assert dispatcher.dispatch_due() == 0  # backing off
    clock.advance(timedelta(minutes=1))
    assert dispatcher.dispatch_due() == 1
    assert system.by_kind("b1")["pre_treatment"].not_before == clock.now + timedelta(minutes=2)
    clock.advance(timedelta(minutes=2))
    assert dispatcher.dispatch_due() == 1
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "sent" and pre.attempts == 3 and pre.last_error is None
    assert transport.calls == 3


def test_gives_up_after_max_attempts(system, clock, booking_data):
    transport = FailingTransport(failures=100)
    dispatcher = dispatcher_with(system, transport, max_attempts=3)
    system.deliver("booking.confirmed", booking_data())  # only pre_treatment falls due in the next hours
    for _ in range(6):
        dispatcher.dispatch_due()
        clock.advance(timedelta(hours=1))
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "failed" and pre.attempts == 3 and "connection unexpectedly closed" in pre.last_error
    assert transport.calls == 3


def test_a_claim_whose_process_died_is_retried_after_the_lease(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    [claimed] = system.dispatcher.claim()  # the process dies right after claiming
    assert system.by_kind("b1")["pre_treatment"].status == "sending"
    assert system.dispatcher.dispatch_due() == 0  # still leased to the dead process
    clock.advance(system.settings.sending_lease)
    assert system.dispatcher.dispatch_due() == 1
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "sent" and pre.attempts == 2 and pre.id == claimed.id


def test_two_dispatchers_never_send_one_message_twice(system, clock, booking_data):
    for n in range(6):
        system.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n}"))
    other = dispatcher_with(system, system.outbox)
    first, second = system.dispatcher.claim(), other.claim()
    assert len(first) == 6 and second == []


def test_next_session_reminder_skipped_when_a_later_treatment_is_booked(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    system.deliver("booking.confirmed", booking_data(booking_id="b2", start=clock.now + timedelta(weeks=7)))
    system.deliver("booking.confirmed", booking_data(booking_id="other", client_id="c2",
                                                     start=clock.now + timedelta(weeks=20)))
    clock.advance(timedelta(weeks=8))  # b1's reminder is due 6 weeks after 1 December
    system.dispatcher.dispatch_due()
    first = system.by_kind("b1")["next_session_reminder"]
    assert first.status == "cancelled" and "later treatment" in first.last_error
    assert system.by_kind("other")["next_session_reminder"].status == "scheduled"  # not yet due


def test_next_session_reminder_sent_when_the_later_booking_was_cancelled(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    system.deliver("booking.confirmed", booking_data(booking_id="b2", start=clock.now + timedelta(weeks=10)))
    system.deliver("booking.cancelled", booking_data(booking_id="b2", status="cancelled",
                                                     start=clock.now + timedelta(weeks=10)))
    clock.advance(timedelta(weeks=8))  # b1's reminder is due 6 weeks after 1 December
    system.dispatcher.dispatch_due()
    assert system.by_kind("b1")["next_session_reminder"].status == "sent"
