"""Message texts from the templates (the .ics invitation: test_notifications_calendar.py)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from notifications.domain.kinds import ALL_KINDS, BOOKING_KINDS, SCREENING_RESULT
from notifications.domain.rendering import (AppointmentFacts, Sender, format_date, join_words, load_template,
                                            manage_url, render_appointment, render_screening_result,
                                            render_sign_in_link)

LONDON = ZoneInfo("Europe/London")
SENDER = Sender("IK Clinics", "hello@ikclinics.example")
WINTER = AppointmentFacts("treatment", "REF-42", ("Face", "Neck"), datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc),
                          datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc), "Sharmeen Shah", "Ada Lovelace")
APPOINTMENT_KINDS = list(BOOKING_KINDS)
MANAGE = "https://clinic.example/#manage=the-booking-token"


@pytest.mark.parametrize("kind", APPOINTMENT_KINDS)
@pytest.mark.parametrize("booking_type", ["treatment", "consultation"])
def test_every_appointment_message_renders_completely(kind, booking_type):
    facts = AppointmentFacts(booking_type, *list(vars(WINTER).values())[1:])
    rendered = render_appointment(kind, facts, LONDON, SENDER, MANAGE, cancel_reason="Feeling unwell")
    assert "$" not in rendered.subject + rendered.text
    assert rendered.subject and "\n" not in rendered.subject
    assert "REF-42" in rendered.subject + rendered.text
    assert "Ada Lovelace" in rendered.text and "IK Clinics" in rendered.text
    assert MANAGE in rendered.text.split()  # every booking message carries its manage link, on a line of its own


def test_pre_treatment_says_what_the_article_says():
    text = render_appointment("pre_treatment", WINTER, LONDON, SENDER, MANAGE).text
    for fact in ("Tuesday 1 December 2026", "09:00 (GMT, Europe/London)", "60 minutes", "Sharmeen Shah",
                 "REF-42", "Face and Neck", "cleansed", "numbing cream", "derma roller", "microneedling pen",
                 "mild discomfort rather than pain", "30 minutes and an hour", "arrive 10 minutes early",
                 "clean skin", "screening has changed", "calendar invitation"):
        assert fact in text, fact


def test_times_are_in_the_clinics_zone_in_summer():
    summer = AppointmentFacts("treatment", "R", ("Face",), datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc),
                              datetime(2026, 6, 1, 8, 45, tzinfo=timezone.utc), "P", "C")
    rendered = render_appointment("appointment_reminder", summer, LONDON, SENDER, MANAGE)
    assert "09:00 (BST, Europe/London)" in rendered.text and "45 minutes" in rendered.text
    assert "Monday 1 June 2026 at 09:00" in rendered.subject


def test_aftercare_texts_follow_the_article():
    aftercare = render_appointment("aftercare", WINTER, LONDON, SENDER, MANAGE).text
    for fact in ("mild sunburn", "24 to 48 hours", "make-up for at least 24 hours", "retinol or acids",
                 "about a week", "high-SPF sunscreen", "peeling or flaking", "Infection is rare",
                 "gets worse"):
        assert fact in aftercare, fact
    check_in = render_appointment("aftercare_check_in", WINTER, LONDON, SENDER, MANAGE).text
    assert "settled by now" in check_in and "contact us" in check_in
    next_session = render_appointment("next_session_reminder", WINTER, LONDON, SENDER, MANAGE).text
    assert "six to eight weeks" in next_session and "four to six weeks apart" in next_session


def test_cancellation_names_the_reason_only_when_given():
    with_reason = render_appointment("cancellation", WINTER, LONDON, SENDER, MANAGE, cancel_reason="Away").text
    without = render_appointment("cancellation", WINTER, LONDON, SENDER, MANAGE).text
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


def test_the_sign_in_link_message_carries_the_link_and_until_when_it_works():
    expires = datetime(2026, 7, 1, 8, 15, tzinfo=timezone.utc)
    rendered = render_sign_in_link("Ada Lovelace", "https://clinic.example/#code=abc", expires, LONDON, SENDER)
    assert "$" not in rendered.subject + rendered.text and "IK Clinics" in rendered.subject
    assert "https://clinic.example/#code=abc" in rendered.text.split()
    assert "09:15 (BST)" in rendered.text and "Wednesday 1 July 2026" in rendered.text
    assert "Dear Ada Lovelace" in rendered.text


def test_manage_url():
    assert manage_url("https://clinic.example", "t.o-k_en") == "https://clinic.example/#manage=t.o-k_en"
