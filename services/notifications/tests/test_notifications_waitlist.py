"""`waitlist.offered` -> one `waitlist_offer` e-mail: the slot, how long it is held, the link to book it."""
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 12, 1, 11, 0, tzinfo=LONDON)


def offered(clock, entry_id="w1", type_="treatment", areas=("neck", "hands")) -> dict:
    return {
        "entry_id": entry_id, "client_id": "c1", "screening_id": "s1",
        "client": {"name": "Ada Lovelace", "email": "ada@example.org", "phone": None},
        "type": type_, "areas": list(areas), "date": "2026-12-01",
        "start": START.isoformat(), "end": (START + timedelta(minutes=60)).isoformat(),
        "expires_at": (clock.now + timedelta(minutes=30)).astimezone(LONDON).isoformat(), "hold_minutes": 30,
        "timezone": "Europe/London",
    }


def test_an_offer_sends_the_slot_the_hold_and_the_link_at_once(system, clock):
    system.deliver("waitlist.offered", offered(clock))
    (message,) = system.messages()
    assert (message.kind, message.status, message.send_at) == ("waitlist_offer", "scheduled", clock.now)
    assert (message.client_id, message.to_address, message.booking_id) == ("c1", "ada@example.org", None)
    assert "Tuesday 1 December 2026 at 11:00" in message.subject and "30 minutes" in message.subject
    body = message.body_text
    assert "11:00 to 12:00 (GMT, Europe/London)" in body
    assert "Neck and Hands" in body
    assert "until 10:30 on Friday 20 November 2026" in body  # the clock's now (10:00 GMT) + 30 minutes
    assert f"{system.settings.public_url}/#waitlist=w1" in body
    assert "$" not in body and message.calendar is None


def test_a_consultation_offer_says_consultation(system, clock):
    system.deliver("waitlist.offered", offered(clock, type_="consultation", areas=()))
    (message,) = system.messages()
    assert "For:           consultation" in message.body_text


def test_the_same_offer_twice_sends_once(system, clock):
    envelope = system.deliver("waitlist.offered", offered(clock))
    assert system.processor.process(envelope) is False
    system.deliver("waitlist.offered", offered(clock))  # the same offer under another event id
    assert len(system.messages()) == 1
    system.deliver("waitlist.offered", offered(clock, entry_id="w2"))
    assert len(system.messages()) == 2


def test_the_offer_goes_out_as_an_eml_with_the_link(system, clock):
    system.deliver("waitlist.offered", offered(clock))
    assert system.dispatcher.dispatch_due() == 1
    (path,) = list(system.settings.outbox_dir.glob("*.eml"))
    mail = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mail["To"].endswith("<ada@example.org>")
    assert f"{system.settings.public_url}/#waitlist=w1" in mail.get_body(("plain",)).get_content()
