"""The dispatcher: due messages go out once, through SMTP or the .eml outbox; a mail server that is
down is retried with a backoff until the give-up time, a 5xx refusal fails at once; a claim whose
process died is taken again after its lease, and one dispatcher never holds more than it is sending."""
import logging
import smtplib
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from sqlalchemy.engine import make_url

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.tcp_proxy import TcpProxy
from clinic_shared.testing import free_port
from clinic_shared.wakeups import Listener

from notifications.delivery import SmtpTransport, message_id
from notifications.dispatcher import Dispatcher
from notifications.domain.rendering import Rendered
from notifications.store.repository import DUE_NOW_CHANNEL, NewMessage


class FailingTransport:
    def __init__(self, failures, then=None):
        self.failures = failures
        self.then = then
        self.calls = 0

    def send(self, message, notification_id, accepted=None):
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


def test_a_message_is_recorded_sent_the_moment_the_server_accepts_it(system, clock, booking_data, smtp_server):
    """Before the SMTP session is closed, so that a crash can resend it only within one UPDATE and its COMMIT;
    and a session that breaks after that (its QUIT) does not make the message go out again."""
    system.deliver("booking.confirmed", booking_data())
    seen_at_acceptance = []

    class AcceptedThenTheSessionBreaks(SmtpTransport):
        def send(self, message, notification_id, accepted=None):
            def then():
                accepted()
                seen_at_acceptance.append((len(smtp_server.messages), system.by_kind("b1")["pre_treatment"].status))
                raise smtplib.SMTPServerDisconnected("lost while closing the session")
            super().send(message, notification_id, accepted=then)

    dispatcher = dispatcher_with(system, AcceptedThenTheSessionBreaks(smtp_server.url, timeout=5))
    assert dispatcher.dispatch_due() == 1
    assert seen_at_acceptance == [(1, "sent")]
    clock.advance(system.settings.sending_lease + timedelta(hours=1))
    assert dispatcher.dispatch_due() == 0 and len(smtp_server.messages) == 1
    assert system.by_kind("b1")["pre_treatment"].status == "sent"


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


def test_a_mail_server_down_for_hours_is_retried_until_the_give_up_time(system, clock, booking_data):
    transport = FailingTransport(failures=1000)
    dispatcher = dispatcher_with(system, transport, delivery_give_up=timedelta(hours=24))
    system.deliver("booking.confirmed", booking_data())  # only pre_treatment falls due in the next days
    due = clock.now
    while clock.now < due + timedelta(hours=24):
        dispatcher.dispatch_due()
        pre = system.by_kind("b1")["pre_treatment"]
        assert pre.status == "scheduled"  # never failed while the give-up time is ahead, however many tries
        clock.now = pre.not_before
    dispatcher.dispatch_due()
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "failed" and "connection unexpectedly closed" in pre.last_error
    assert transport.calls == pre.attempts > 5 and pre.send_at == due


class RefusingMailbox:
    """A real SMTP server's handler that answers RCPT with `reply` (e.g. "451 …" or "550 …"); None accepts."""

    def __init__(self, reply):
        self.reply = reply
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def refusing_smtp_server():
    mailbox = RefusingMailbox(reply=None)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield mailbox
    controller.stop()


def test_a_temporary_refusal_is_retried_and_a_permanent_one_fails_at_once(system, clock, booking_data,
                                                                          refusing_smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="notifications")
    server = refusing_smtp_server
    dispatcher = dispatcher_with(system, SmtpTransport(server.url, timeout=5))
    server.reply = "451 4.3.0 Mailbox temporarily unavailable, try again later"
    system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    dispatcher.dispatch_due()
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "scheduled" and "451" in pre.last_error
    server.reply = None
    clock.now = pre.not_before
    dispatcher.dispatch_due()
    assert system.by_kind("b1")["pre_treatment"].status == "sent" and len(server.received) == 1

    server.reply = "550 5.1.1 No such user here"
    system.deliver("booking.confirmed", booking_data(booking_id="b2", client_id="c2", email="nobody@example.org"))
    dispatcher.dispatch_due()
    pre = system.by_kind("b2")["pre_treatment"]
    assert pre.status == "failed" and pre.attempts == 1 and "550" in pre.last_error
    # Logged by id and by kind of failure: neither the sends nor the refusals name an address.
    assert "sent pre_treatment" in caplog.text and "SMTPRecipientsRefused" in caplog.text
    assert "@example.org" not in caplog.text


def test_an_unreachable_mail_server_is_retried(system, clock, booking_data):
    dispatcher = dispatcher_with(system, SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=5))
    system.deliver("booking.confirmed", booking_data())
    dispatcher.dispatch_due()
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "scheduled" and pre.attempts == 1 and "ConnectionRefusedError" in pre.last_error


def test_a_claim_whose_process_died_is_retried_after_the_lease(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data())
    claimed = system.dispatcher.claim()  # the process dies right after claiming
    assert system.by_kind("b1")["pre_treatment"].status == "sending"
    assert system.dispatcher.dispatch_due() == 0  # still leased to the dead process
    clock.advance(system.settings.sending_lease)
    assert system.dispatcher.dispatch_due() == 1
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "sent" and pre.attempts == 2 and pre.id == claimed.id


def test_two_dispatchers_never_claim_one_message_together(system, clock, booking_data):
    for n in range(6):
        system.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n}"))
    other = dispatcher_with(system, system.outbox)
    claims = [d.claim() for _ in range(3) for d in (system.dispatcher, other)]
    assert len({row.id for row in claims}) == 6  # one message per claim, never one twice
    assert system.dispatcher.claim() is None and other.claim() is None


def test_a_cancellation_waits_for_the_invitation_another_dispatcher_is_sending(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(version=1))
    other = dispatcher_with(system, system.outbox)
    overtaken = []

    def cancelled_meanwhile():  # the cancellation comes in while one dispatcher is sending the invitation
        if not overtaken:
            system.deliver("booking.cancelled", booking_data(version=2, reason=None))
            overtaken.append(other.claim())

    sending = dispatcher_with(system, Recording([], meanwhile=cancelled_meanwhile))
    assert sending.dispatch_due() + other.dispatch_due() == 2
    assert overtaken == [None]  # the cancellation did not overtake what was being sent
    sent = sorted((row for row in system.messages() if row.status == "sent"), key=lambda row: row.sent_at)
    assert [row.kind for row in sent] == ["pre_treatment", "cancellation"]
    # a dispatcher that died mid-send holds the booking's next message back only until its lease runs out
    system.deliver("booking.confirmed", booking_data(booking_id="b2", version=1))
    system.dispatcher.claim()
    system.deliver("booking.cancelled", booking_data(booking_id="b2", version=2, reason=None))
    assert other.claim() is None
    clock.advance(system.settings.sending_lease)
    # its lease ran out: the invitation is taken again, but the booking is cancelled now, so it is withdrawn,
    # and only the cancellation goes out
    assert other.dispatch_due() == 2
    b2 = system.by_kind("b2")
    assert b2["pre_treatment"].status == "cancelled" and b2["pre_treatment"].sent_at is None
    assert b2["cancellation"].status == "sent"


def test_a_claim_too_near_its_end_for_a_whole_smtp_session_is_given_back(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(version=1))
    sent = []
    dispatcher = dispatcher_with(system, Recording(sent))
    row = dispatcher.claim()
    clock.advance(system.settings.sending_lease - timedelta(seconds=system.settings.smtp_timeout_seconds))
    dispatcher._deliver(row, system.engine.connect())  # the database kept it waiting: too little lease is left
    assert sent == []
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "scheduled" and pre.not_before == clock.now and pre.lease_expires_at is None
    assert dispatcher.dispatch_due() == 1 and sent == [pre.id]  # taken again under a fresh lease, and sent


class Recording:
    def __init__(self, sent, meanwhile=None, clock=None, takes=timedelta(0)):
        self.sent, self.meanwhile, self.clock, self.takes = sent, meanwhile, clock, takes

    def send(self, message, notification_id, accepted=None):
        self.sent.append(notification_id)
        if self.clock is not None:
            self.clock.advance(self.takes)
        if self.meanwhile is not None:
            self.meanwhile()


def test_a_slow_dispatcher_never_has_its_messages_sent_again_by_another(system, clock, booking_data):
    for n in range(4):
        system.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n}"))
    sent = []
    other = dispatcher_with(system, Recording(sent))
    # Each send takes half a lease; after each, another dispatcher runs. A claim of many messages under
    # one lease would run out while they are still waiting their turn, and the other would send them too.
    # One sender: the test clock moves by each send's time, which only adds up when sends follow each other.
    slow = dispatcher_with(system, Recording(sent, meanwhile=other.dispatch_due, clock=clock,
                                             takes=system.settings.sending_lease / 2), dispatch_threads=1)
    slow.dispatch_due()
    other.dispatch_due()
    ids = [row.id for row in system.messages() if row.kind == "pre_treatment"]
    assert sorted(sent) == sorted(ids)  # each once
    assert {row.status for row in system.messages() if row.kind == "pre_treatment"} == {"sent"}


def test_two_dispatchers_at_once_send_every_message_exactly_once(postgres_system, clock, booking_data, smtp_server):
    system = postgres_system
    settings = system.settings
    for n in range(60):
        system.deliver("booking.confirmed", booking_data(booking_id=f"b{n}", client_id=f"c{n}"))
    start = threading.Barrier(2)
    counts = {}

    def dispatch_until_done(name):
        engine = make_engine(settings.database_url)  # each dispatcher its own engine, as two processes
        dispatcher = Dispatcher(make_session_factory(engine), system.repo, SmtpTransport(smtp_server.url, timeout=5),
                                settings, clock)
        start.wait()
        counts[name] = 0
        while claimed := dispatcher.dispatch_due():
            counts[name] += claimed
        engine.dispose()

    dispatchers = [threading.Thread(target=dispatch_until_done, args=(name,)) for name in ("a", "b")]
    for thread in dispatchers:
        thread.start()
    for thread in dispatchers:
        thread.join(120)
    pre = [row for row in system.messages() if row.kind == "pre_treatment"]
    assert len(pre) == 60 and {row.status for row in pre} == {"sent"}
    assert counts["a"] > 0 and counts["b"] > 0  # both really sent
    received = [m["message"]["Message-ID"] for m in smtp_server.messages]
    assert sorted(received) == sorted(message_id(row.id, "ikclinics.example") for row in pre)  # once each


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


def test_a_database_blip_right_after_the_mail_server_accepted_does_not_send_again(postgres_system, clock,
                                                                                  booking_data):
    system = postgres_system
    system.deliver("booking.confirmed", booking_data())
    direct = make_url(system.settings.database_url)
    proxy = TcpProxy(direct.host, direct.port or 5432, free_port()).start()
    engine = make_engine(direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    sent = []

    class AcceptedThenTheDatabaseGoes:
        def send(self, message, notification_id, accepted=None):
            sent.append(notification_id)
            proxy.cut()  # the mail server has the message; recording `sent` meets no database for a moment
            threading.Timer(1.5, proxy.restore).start()

    dispatcher = Dispatcher(make_session_factory(engine), system.repo, AcceptedThenTheDatabaseGoes(),
                            system.settings, clock)
    try:
        assert dispatcher.dispatch_due() == 1
        clock.advance(system.settings.sending_lease)
        assert dispatcher.dispatch_due() == 0  # nothing left in `sending` to be taken again
    finally:
        engine.dispose()
        proxy.cut()
    pre = system.by_kind("b1")["pre_treatment"]
    assert pre.status == "sent" and sent == [pre.id]


def test_a_message_due_at_once_wakes_the_dispatchers_and_one_due_later_does_not(postgres_system, clock, booking_data):
    system = postgres_system
    listener = Listener(system.engine, DUE_NOW_CHANNEL)
    try:
        listener.wait(0.01)  # listening from now on
        with system.sessions() as session, session.begin():
            later = clock() + timedelta(days=1)
            system.repo.schedule(session, source="test", kind="aftercare", occasion="later", send_at=later,
                                 client_id="c1", to_address="a@example.org", to_name="A",
                                 rendered=Rendered("s", "t"), now=clock())
        assert listener.wait(0.3) is False
        system.deliver("booking.confirmed", booking_data())  # its invitation is due now
        assert listener.wait(30) is True
    finally:
        listener.close()


def test_schedule_says_whether_it_scheduled_or_the_message_was_there_already(system, clock):
    def schedule():
        with system.sessions() as session, session.begin():
            return system.repo.schedule(session, source="test", kind="aftercare", occasion="once", send_at=clock(),
                                        client_id="c1", to_address="a@example.org", to_name="A",
                                        rendered=Rendered("s", "t"), now=clock())

    assert schedule() is True
    assert schedule() is False


def test_messages_scheduled_together_keep_their_own_recipients_occasions_and_times(system, clock):
    """A booking's messages share their recipient and occasion, and go in with them given once; messages that do
    not share them go in all the same, each as given, and a repeated one is not scheduled twice."""
    messages = [NewMessage(source="test", kind=kind, occasion=occasion, send_at=clock() + timedelta(hours=n),
                           client_id=f"c{n}", to_address=f"a{n}@example.org", to_name=f"A{n}",
                           rendered=Rendered(f"subject {n}", f"text {n}"), booking_id=f"b{n % 2}",
                           calendar="BEGIN:VCALENDAR" if n == 0 else None)
                for n, (kind, occasion) in enumerate((("aftercare", "one"), ("aftercare", "two"),
                                                      ("aftercare_check_in", "two")))]
    with system.sessions() as session, session.begin():
        assert system.repo.schedule_all(session, messages, clock()) == messages
    with system.sessions() as session, session.begin():
        assert system.repo.schedule_all(session, [messages[1], messages[0]], clock()) == []
    stored = {(row.kind, row.occasion): row for row in system.messages()}
    assert len(stored) == 3
    for n, message in enumerate(messages):
        row = stored[(message.kind, message.occasion)]
        assert (row.client_id, row.to_address, row.to_name, row.booking_id) == (f"c{n}", f"a{n}@example.org",
                                                                               f"A{n}", f"b{n % 2}")
        assert (row.subject, row.body_text, row.calendar) == (f"subject {n}", f"text {n}", message.calendar)
        assert row.send_at == row.not_before == clock() + timedelta(hours=n)
        assert (row.status, row.attempts, row.created_at) == ("scheduled", 0, clock())
