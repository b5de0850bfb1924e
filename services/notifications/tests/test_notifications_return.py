"""Clients who come back (API.md): the manage link in every booking message and what its token may see, the
booking's calendar file, and the sign-in link message; on SQLite and PostgreSQL."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from clinic_shared.auth import TokenAuthority

from notifications import create_app
from notifications.domain.kinds import BOOKING_KINDS

# Booking tokens last until the booking ends in real time, so these bookings end well after the test runs.
SOON = (datetime.now(timezone.utc) + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)


def authority(system) -> TokenAuthority:
    s = system.settings
    return TokenAuthority(s.secret_key, s.staff_token, s.client_token_ttl_seconds)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def manage_token(body: str) -> str:
    [token] = re.findall(r"/#manage=(\S+)", body)
    return token


@pytest.fixture
def booked(system, booking_data):
    """b1 (c1) confirmed and then cancelled-free; b2 (c1's second booking) and b3 (another client's)."""
    system.deliver("booking.confirmed", booking_data(booking_id="b1", start=SOON))
    system.deliver("booking.confirmed", booking_data(booking_id="b2", start=SOON + timedelta(days=35)))
    system.deliver("booking.confirmed", booking_data(booking_id="b3", client_id="c2", email="bob@example.org",
                                                     start=SOON + timedelta(days=1)))
    return system


@pytest.fixture
def api(booked, clock):
    return create_app(booked.settings, clock=clock).test_client()


def test_every_booking_message_links_to_its_own_booking_until_it_ends(booked, booking_data):
    booked.deliver("booking.cancelled", booking_data(booking_id="b2", start=SOON + timedelta(days=35),
                                                     status="cancelled", version=2))
    rows = [r for r in booked.messages() if r.booking_id in ("b1", "b2")]
    assert {r.kind for r in rows} >= {"pre_treatment", "appointment_reminder", "aftercare", "cancellation"}
    for row in rows:
        assert row.kind in BOOKING_KINDS
        link = f"{booked.settings.public_url}/#manage="
        assert link in row.body_text, row.kind
        principal = authority(booked).principal_for(manage_token(row.body_text))
        assert (principal.client_id, principal.booking_id) == ("c1", row.booking_id)


def test_a_manage_link_ends_with_its_booking(system, booking_data, clock):
    ended = datetime.now(timezone.utc) - timedelta(hours=1)
    system.deliver("booking.confirmed", booking_data(booking_id="old", start=ended - timedelta(hours=1)))
    [row] = [r for r in system.messages("old") if r.kind == "aftercare"]
    assert authority(system).principal_for(manage_token(row.body_text)) is None


def test_a_reschedule_renders_a_link_that_lasts_until_the_new_end(booked, booking_data):
    later = SOON + timedelta(days=60)
    booked.deliver("booking.rescheduled", booking_data(booking_id="b1", start=later, version=2,
                                                       previous_start=SOON.isoformat(),
                                                       previous_end=(SOON + timedelta(hours=1)).isoformat()))
    reminder = booked.by_kind("b1", status="scheduled")["appointment_reminder"]
    token = manage_token(reminder.body_text)
    assert token == authority(booked).issue_booking_token("c1", "b1", until=later + timedelta(hours=1))


def test_a_booking_token_lists_only_its_bookings_messages(api, booked):
    token = bearer(authority(booked).issue_booking_token("c1", "b1", SOON + timedelta(hours=1)))
    listed = api.get("/api/notifications", headers=token).get_json()["notifications"]
    assert listed and {n["booking_id"] for n in listed} == {"b1"}
    assert api.get("/api/notifications?booking_id=b1", headers=token).get_json()["notifications"] == listed
    for other in ("b2", "b3", "nothing"):  # the client's other booking too: the link is for one
        response = api.get(f"/api/notifications?booking_id={other}", headers=token)
        assert response.status_code == 200 and response.get_json()["notifications"] == []
    whole = bearer(authority(booked).issue_client_token("c1"))
    assert {n["booking_id"] for n in api.get("/api/notifications", headers=whole).get_json()["notifications"]} \
        == {"b1", "b2"}


def test_a_booking_token_cannot_retry_messages(api, booked):
    token = bearer(authority(booked).issue_booking_token("c1", "b1", SOON + timedelta(hours=1)))
    response = api.post(f"/api/notifications/{uuid.uuid4()}/retry", headers=token)
    assert response.status_code == 403


def test_the_calendar_file_of_a_booking(api, booked, booking_data):
    owner = bearer(authority(booked).issue_client_token("c1"))
    response = api.get("/api/notifications/calendar?booking_id=b1", headers=owner)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    [event] = Calendar.from_ical(response.get_data(as_text=True)).walk("VEVENT")
    assert str(event["UID"]).startswith("booking-b1@") and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART").astimezone(timezone.utc) == SOON

    booked.deliver("booking.cancelled", booking_data(booking_id="b1", start=SOON, status="cancelled", version=2))
    cancelled = Calendar.from_ical(api.get("/api/notifications/calendar?booking_id=b1", headers=owner).get_data())
    [event] = cancelled.walk("VEVENT")
    assert str(cancelled["METHOD"]) == "CANCEL" and int(event["SEQUENCE"]) == 1


def test_who_may_have_a_calendar_file(api, booked):
    tokens = authority(booked)
    path = "/api/notifications/calendar?booking_id=b1"
    assert api.get(path, headers=bearer(tokens.issue_booking_token("c1", "b1", SOON + timedelta(hours=1)))
                   ).status_code == 200
    assert api.get(path, headers=bearer(booked.settings.staff_token)).status_code == 200
    for headers, status in [
        (bearer(tokens.issue_booking_token("c1", "b2", SOON + timedelta(days=40))), 404),  # another booking's link
        (bearer(tokens.issue_client_token("c2")), 404),  # another client
        ({}, 401),
        (bearer("nonsense"), 401),
    ]:
        response = api.get(path, headers=headers)
        assert response.status_code == status and response.get_json()["error"]["code"] in ("not_found", "unauthorized")
    owner = bearer(tokens.issue_client_token("c1"))
    assert api.get("/api/notifications/calendar?booking_id=unknown", headers=owner).status_code == 404
    missing = api.get("/api/notifications/calendar", headers=owner)
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "validation_error"


def sign_in_data(request_id="r1", expires_in=timedelta(minutes=15), clock=None) -> dict:
    now = clock.now if clock else datetime.now(timezone.utc)
    return {"request_id": request_id, "client_id": "c1",
            "client": {"name": "Ada Lovelace", "email": "ada@example.org", "phone": None},
            "code": "the-one-time-code", "expires_at": (now + expires_in).isoformat()}


def test_a_sign_in_request_sends_the_link_at_once_and_once(system, clock):
    system.deliver("client.sign_in_requested", sign_in_data(clock=clock))
    system.deliver("client.sign_in_requested", sign_in_data(clock=clock))  # the same request, published again
    [row] = [r for r in system.messages() if r.kind == "sign_in_link"]
    assert (row.to_address, row.client_id, row.booking_id, row.send_at) == ("ada@example.org", "c1", None, clock.now)
    assert f"{system.settings.public_url}/#code=the-one-time-code" in row.body_text.split()
    system.dispatcher.dispatch_due()
    assert system.by_kind()["sign_in_link"].status == "sent"
    system.deliver("client.sign_in_requested", sign_in_data("r2", clock=clock))  # a second request: a second link
    assert len([r for r in system.messages() if r.kind == "sign_in_link"]) == 2


def test_a_sign_in_link_that_expired_on_the_way_is_not_sent(system, clock):
    system.deliver("client.sign_in_requested", sign_in_data(expires_in=-timedelta(seconds=1), clock=clock))
    assert [r for r in system.messages() if r.kind == "sign_in_link"] == []
