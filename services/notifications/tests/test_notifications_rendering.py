"""Message texts from the templates, and the .ics invitation (RFC 5545)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from notifications.domain.calendar import CalendarEvent, build_ics, escape_text, fold
from notifications.domain.kinds import ALL_KINDS, SCREENING_RESULT, WAITLIST_OFFER
from notifications.domain.rendering import (AppointmentFacts, Sender, format_date, join_words, load_template,
                                            render_appointment, render_screening_result)

LONDON = ZoneInfo("Europe/London")
SENDER = Sender("IK Clinics", "hello@ikclinics.example")
WINTER = AppointmentFacts("treatment", "REF-42", ("Face", "Neck"), datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc),
                          datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc), "Sharmeen Shah", "Ada Lovelace")
APPOINTMENT_KINDS = [k for k in ALL_KINDS if k not in (SCREENING_RESULT, WAITLIST_OFFER)]  # about no booking


@pytest.mark.parametrize("kind", APPOINTMENT_KINDS)
@pytest.mark.parametrize("booking_type", ["treatment", "consultation"])
def test_every_appointment_message_renders_completely(kind, booking_type):
    facts = AppointmentFacts(booking_type, *list(vars(WINTER).values())[1:])
    rendered = render_appointment(kind, facts, LONDON, SENDER, cancel_reason="Feeling unwell")
    assert "$" not in rendered.subject + rendered.text
    assert rendered.subject and "\n" not in rendered.subject
    assert "REF-42" in rendered.subject + rendered.text
    assert "Ada Lovelace" in rendered.text and "IK Clinics" in rendered.text


def test_pre_treatment_says_what_the_article_says():
    text = render_appointment("pre_treatment", WINTER, LONDON, SENDER).text
    for fact in ("Tuesday 1 December 2026", "09:00 (GMT, Europe/London)", "60 minutes", "Sharmeen Shah",
                 "REF-42", "Face and Neck", "cleansed", "numbing cream", "derma roller", "microneedling pen",
                 "mild discomfort rather than pain", "30 minutes and an hour", "arrive 10 minutes early",
                 "clean skin", "screening has changed", "calendar invitation"):
        assert fact in text, fact


def test_times_are_in_the_clinics_zone_in_summer():
    summer = AppointmentFacts("treatment", "R", ("Face",), datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc),
                              datetime(2026, 6, 1, 8, 45, tzinfo=timezone.utc), "P", "C")
    rendered = render_appointment("appointment_reminder", summer, LONDON, SENDER)
    assert "09:00 (BST, Europe/London)" in rendered.text and "45 minutes" in rendered.text
    assert "Monday 1 June 2026 at 09:00" in rendered.subject


def test_aftercare_texts_follow_the_article():
    aftercare = render_appointment("aftercare", WINTER, LONDON, SENDER).text
    for fact in ("mild sunburn", "24 to 48 hours", "make-up for at least 24 hours", "retinol or acids",
                 "about a week", "high-SPF sunscreen", "peeling or flaking", "Infection is rare",
                 "gets worse"):
        assert fact in aftercare, fact
    check_in = render_appointment("aftercare_check_in", WINTER, LONDON, SENDER).text
    assert "settled by now" in check_in and "contact us" in check_in
    next_session = render_appointment("next_session_reminder", WINTER, LONDON, SENDER).text
    assert "six to eight weeks" in next_session and "four to six weeks apart" in next_session


def test_cancellation_names_the_reason_only_when_given():
    with_reason = render_appointment("cancellation", WINTER, LONDON, SENDER, cancel_reason="Away").text
    without = render_appointment("cancellation", WINTER, LONDON, SENDER).text
    assert "Reason given: Away" in with_reason and "Reason given" not in without
    assert "cancelled" in without


@pytest.mark.parametrize("outcome, words", [("consultation_required", "consultation first"),
                                            ("not_suitable", "not suitable")])
def test_screening_result_gives_the_outcome_a_link_and_an_invitation(outcome, words):
    rendered = render_screening_result(outcome, "Ada", SENDER, page_url="https://clinic.example/")
    assert words in rendered.subject
    assert "Sign in on our booking page to read why:\nhttps://clinic.example/\n" in rendered.text
    assert "book a consultation" in rendered.text and "$" not in rendered.text


def test_every_template_starts_with_a_subject():
    for kind in ALL_KINDS:
        assert load_template(kind).startswith("Subject: ")


@pytest.mark.parametrize("words, joined", [((), ""), (("Face",), "Face"), (("Face", "Neck"), "Face and Neck"),
                                           (("Face", "Neck", "Hands"), "Face, Neck and Hands")])
def test_join_words(words, joined):
    assert join_words(words) == joined


def test_format_date_uses_the_local_day():
    late = datetime(2026, 6, 30, 23, 30, tzinfo=timezone.utc)  # already 1 July in London
    assert format_date(late, LONDON) == "Wednesday 1 July 2026"


def event(**changes):
    values = dict(booking_id="b-1", sequence=0, start=datetime(2026, 6, 1, 9, 0, tzinfo=LONDON),
                  end=datetime(2026, 6, 1, 10, 0, tzinfo=LONDON), summary="Micro needling (Face, Neck)",
                  description="Reference R-1; arrive early.\nThanks", location="IK Clinics",
                  organizer_name="IK Clinics", organizer_email="bookings@ikclinics.example",
                  attendee_name="Ada, Countess", attendee_email="ada@example.org", uid_domain="ikclinics.example")
    values.update(changes)
    return CalendarEvent(**values)


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_ics_invitation_fields():
    ics = build_ics(event(sequence=2), stamp=datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc))
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR" and "END:VCALENDAR" in lines
    for line in ("VERSION:2.0", "METHOD:REQUEST", "UID:booking-b-1@ikclinics.example", "SEQUENCE:2",
                 "DTSTAMP:20260501T120000Z", "DTSTART:20260601T080000Z", "DTEND:20260601T090000Z",
                 "SUMMARY:Micro needling (Face\\, Neck)", "DESCRIPTION:Reference R-1\\; arrive early.\\nThanks",
                 "STATUS:CONFIRMED", "ORGANIZER;CN=IK Clinics:mailto:bookings@ikclinics.example"):
        assert line in lines, line
    assert any(l.startswith('ATTENDEE;CN="Ada, Countess";') and l.endswith(":mailto:ada@example.org") for l in lines)


def test_ics_cancellation():
    lines = unfold(build_ics(event(sequence=1), stamp=datetime.now(timezone.utc), cancel=True))
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines and "SEQUENCE:1" in lines


def test_long_lines_are_folded_at_75_octets():
    ics = build_ics(event(description="é" * 200), stamp=datetime.now(timezone.utc))
    for line in ics.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert "DESCRIPTION:" + "é" * 200 in unfold(ics)
    assert fold("short") == "short"


def test_escape_text():
    assert escape_text("a\\b;c,d\ne") == "a\\\\b\\;c\\,d\\ne"


def test_dtstart_is_utc_across_the_clock_change():
    october = build_ics(event(start=datetime(2026, 10, 26, 9, 0, tzinfo=LONDON),
                              end=datetime(2026, 10, 26, 9, 0, tzinfo=LONDON) + timedelta(hours=1)),
                        stamp=datetime.now(timezone.utc))
    assert "DTSTART:20261026T090000Z" in october  # GMT again after 25 October
