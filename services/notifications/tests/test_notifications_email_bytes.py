"""The e-mail written straight to bytes (notifications.email_bytes) is what EmailMessage writes: byte for byte,
but for the random multipart boundary, and parsed alike, for ASCII and non-ASCII names and subjects, long and
short lines, with and without a calendar file."""
from __future__ import annotations

import copy
import io
import random
import re
import string
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.utils import formataddr
from types import SimpleNamespace

import pytest

from notifications import email_bytes
from notifications.delivery import OutgoingEmail, build_email, build_email_message
from notifications.domain.calendar import CalendarEvent, build_ics
from notifications.settings import load_settings

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
BOUNDARY = re.compile(rb"={15}\d{19}==")


def calendar(name: str, cancel: bool = False) -> str:
    return build_ics(CalendarEvent(
        booking_id="b1", sequence=1, start=NOW, end=NOW, summary="Micro needling (Face) at IK Clinics",
        description="Reference REF-B1, with Sharmeen Shah. Please arrive 10 minutes early.",
        location="IK Clinics", organizer_name="IK Clinics", organizer_email="bookings@ikclinics.example",
        attendee_name=name, attendee_email="client@example.org", uid_domain="ikclinics.example"),
        stamp=NOW, cancel=cancel)


LONG_LINE = "Manage your booking: https://clinic.example/#booking=" + "eyJjbGllbnRfaWQiOiAiYzEifQ" * 6
ROWS = {
    "ascii, no calendar": dict(to_name="Ada Lovelace", subject="Your appointment reminder",
                               body_text="Hello Ada,\n\nSee you tomorrow.\n", calendar=None),
    "ascii, long line, invitation": dict(to_name="Ada Lovelace", subject="Your micro needling: how to prepare",
                                         body_text=f"Hello Ada,\n\n{LONG_LINE}\n", calendar=calendar("Ada")),
    "non-ascii name and subject, cancellation": dict(
        to_name="Zoë Ångström-Núñez", subject="Cancelled – your micro needling on Tuesday 1 December 2026",
        body_text="Hello Zoë,\n\nWe’re sorry.\n", calendar=calendar("Zoë Ångström-Núñez", cancel=True)),
    "non-ascii, long line, many lines": dict(
        to_name="Émile", subject="Préparation", body_text="Bonjour Émile,\n" + "ligne\n" * 12 + LONG_LINE + "\n",
        calendar=calendar("Émile")),
    "names that need quoting, a long subject": dict(
        to_name='Dr. Ada "Countess" Lovelace, FRS', subject="A subject long enough to be folded " * 3,
        body_text="Short.", calendar=None),
    "a mostly non-ASCII text": dict(to_name="Ада", subject="Запись", body_text=("Здравствуйте, Ада. " * 8 + "\n") * 3,
                                    calendar=None),
}


def row(kind="pre_treatment", **fields):
    values = dict(id="0f7c2f0e-1111-2222-3333-444455556666", kind=kind, to_address="client@example.org")
    return SimpleNamespace(**{**values, **fields})


@pytest.fixture
def settings(tmp_path):
    return load_settings({"CLINIC_DATA_DIR": str(tmp_path)})


def as_smtp_sends_it(message) -> bytes:
    """What smtplib.SMTP.send_message writes for an EmailMessage with ASCII addresses."""
    out = io.BytesIO()
    BytesGenerator(out).flatten(copy.copy(message), linesep="\r\n")
    return out.getvalue()


def without_boundary(data: bytes) -> bytes:
    return BOUNDARY.sub(b"BOUNDARY", data)


def parsed(data: bytes) -> dict:
    message = message_from_bytes(data, policy=policy.default)
    parts = [message] if not message.is_multipart() else list(message.iter_parts())
    return {"headers": [(k, str(v)) for k, v in message.items() if k != "Content-Type"],
            "content_type": message.get_content_type(),
            "parts": [(p.get_content_type(), dict(p["Content-Type"].params), p.get_filename(), p.get_content())
                      for p in parts]}


@pytest.mark.parametrize("case", ROWS)
def test_the_bytes_are_those_email_message_writes(case, settings):
    message = row(**ROWS[case], kind="cancellation" if "cancellation" in case else "pre_treatment")
    written, reference = build_email(message, settings, NOW), build_email_message(message, settings, NOW)
    assert isinstance(written, OutgoingEmail)
    assert without_boundary(written.data) == without_boundary(as_smtp_sends_it(reference))
    assert without_boundary(written.as_bytes()) == without_boundary(reference.as_bytes())
    assert parsed(written.data) == parsed(as_smtp_sends_it(reference))
    assert (written.sender, written.recipient) == ("bookings@ikclinics.example", "client@example.org")


def test_what_the_parsed_e_mail_says(settings):
    message = row(**ROWS["non-ascii name and subject, cancellation"], kind="cancellation")
    got = parsed(build_email(message, settings, NOW).data)
    assert dict(got["headers"])["To"] == "Zoë Ångström-Núñez <client@example.org>"
    assert dict(got["headers"])["Subject"] == "Cancelled – your micro needling on Tuesday 1 December 2026"
    assert dict(got["headers"])["Message-ID"] == "<0f7c2f0e-1111-2222-3333-444455556666@ikclinics.example>"
    (_, _, _, text), (kind, params, filename, ics) = got["parts"]
    assert text == "Hello Zoë,\r\n\r\nWe’re sorry.\r\n"  # 8bit: the wire's CRLF lines, as they are
    assert (kind, params["method"], filename) == ("text/calendar", "CANCEL", "appointment.ics")
    assert ics == message.calendar


def test_an_address_that_is_not_plain_takes_email_message(settings):
    quoted = build_email(row(**ROWS["ascii, no calendar"], to_address='"ada lovelace"@example.org'), settings, NOW)
    assert not isinstance(quoted, OutgoingEmail)
    assert quoted["To"].addresses[0].addr_spec == '"ada lovelace"@example.org'
    with pytest.raises(UnicodeEncodeError):  # as ever: formataddr takes no such address, the message fails
        build_email(row(**ROWS["ascii, no calendar"], to_address="zoë@example.org"), settings, NOW)


def test_a_header_line_written_as_it_is_is_what_the_policy_folds():
    """Random printable ASCII values of Subject and X-Clinic-Notification, and names in To as formataddr writes
    them: a line written as it is is the policy's fold of it (the rest are folded by the policy itself)."""
    chance = random.Random(7)
    taken = 0
    for _ in range(3000):
        name = chance.choice(("Subject", "To", "X-Clinic-Notification"))
        value = "".join(chance.choice(string.printable[:95]) for _ in range(chance.randint(1, 70)))
        if name == "To":
            value = formataddr((value, "client@example.org"))
        folded = policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)
        line = email_bytes.header(name, value)
        taken += line == f"{name}: {value}\r\n"
        assert line == folded
    assert taken > 1000


def test_a_long_unstructured_value_is_wrapped_as_the_policy_wraps_it():
    """Random words of random lengths (some longer than a line), in values up to ~30 words: Subject and
    X-Clinic-Notification lines come out as the policy's fold, whether wrapped here or left to the policy."""
    chance = random.Random(11)
    wrapped = 0
    for _ in range(3000):
        name = chance.choice(("Subject", "X-Clinic-Notification"))
        words = ["".join(chance.choice(string.printable[:94].replace(" ", ""))
                         for _ in range(chance.choice((1, 2, 3, 5, 8, 13, 20, 36, 40, 60, 70, 76, 77, 80))))
                 for _ in range(chance.randint(1, 30))]
        value = " ".join(words)
        wrapped += "=?" not in value and email_bytes._wrapped(name, value) is not None
        assert email_bytes.header(name, value) == policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)
    assert wrapped > 500  # the wrapping here was exercised, not only the policy
    ours = "next_session_reminder; id=0f7c2f0e-1111-2222-3333-444455556666"  # 85 characters with its name
    assert email_bytes.header("X-Clinic-Notification", ours) == f"X-Clinic-Notification:\r\n {ours}\r\n"
