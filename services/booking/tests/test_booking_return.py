"""Clients who come back (API.md), in the booking service: the change notice through the API, and what a
booking token (the manage link of a booking's e-mails) may do. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' "now"
# Booking tokens end with their booking in real time; the tests' tokens are issued to last long past the run.
FAR = datetime.now(timezone.utc) + timedelta(days=3650)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def error(response) -> dict:
    return response.get_json()["error"]


def booking_token(clinic, client_id: str, booking_id: str, until: datetime = FAR) -> dict:
    return {"Authorization": f"Bearer {clinic.tokens.issue_booking_token(client_id, booking_id, until)}"}


def change(clinic, booking_id: str, action: str, headers: dict, start: datetime | None = None):
    body = {"start": start.isoformat()} if action == "reschedule" else {}
    return clinic.http.post(f"/api/bookings/{booking_id}/{action}", json=body, headers=headers)


def booked_at_ten(clinic, now_hours_before: int) -> tuple[dict, dict]:
    """A client's booking at 10:00 on DAY, with "now" that many hours before it: (screening, booking)."""
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    clinic.clock.now = at(DAY, 10).astimezone(timezone.utc) - timedelta(hours=now_hours_before)
    return ada, booking


# ----- the change notice --------------------------------------------------------------------------------

def test_a_booking_says_until_when_its_client_may_change_it(clinic):
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    assert booking["changeable_until"] == "2026-11-09T10:00:00+00:00"
    policy = clinic.http.get("/api/treatments").get_json()["change_policy"]
    assert policy == {"notice_hours": 24, "contact": {"phone": "+44 20 7946 0000", "email": "hello@ikclinics.example"}}


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_inside_the_notice_a_client_is_told_to_call_and_staff_may_still_change_it(clinic, action):
    ada, booking = booked_at_ten(clinic, now_hours_before=23)
    refused = change(clinic, booking["id"], action, clinic.client_headers(ada["client_id"]), at(DAY, 15))
    assert refused.status_code == 422
    assert error(refused)["code"] == "too_late_to_change"
    assert error(refused)["details"]["contact"] == {"phone": "+44 20 7946 0000", "email": "hello@ikclinics.example"}
    assert error(refused)["details"]["changeable_until"] == booking["changeable_until"]
    # Through the manage link too: it is the client.
    via_link = change(clinic, booking["id"], action, booking_token(clinic, ada["client_id"], booking["id"]),
                      at(DAY, 15))
    assert via_link.status_code == 422 and error(via_link)["code"] == "too_late_to_change"
    assert clinic.http.get(f"/api/bookings/{booking['id']}", headers=clinic.staff).get_json()["version"] == 1
    by_staff = change(clinic, booking["id"], action, clinic.staff, at(DAY, 15))
    assert by_staff.status_code == 200, by_staff.get_json()


@pytest.mark.parametrize("action", ["cancel", "reschedule"])
def test_up_to_the_notice_a_client_may_change_it(clinic, action):
    ada, booking = booked_at_ten(clinic, now_hours_before=24)
    allowed = change(clinic, booking["id"], action, clinic.client_headers(ada["client_id"]), at(DAY, 15))
    assert allowed.status_code == 200, allowed.get_json()


def test_a_reschedule_is_judged_by_the_time_it_moves_from(clinic):
    """Moving a booking that is days ahead to the next day is allowed (the notice is about the booking's
    current start, the new one needs only the minimum notice); moving it again inside the notice is not."""
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    headers = clinic.client_headers(ada["client_id"])
    clinic.clock.now = at(DAY, 10).astimezone(timezone.utc) - timedelta(days=4)  # Friday 6 November
    tomorrow = clinic.clock.now + timedelta(hours=20)
    tomorrow = at(tomorrow.astimezone(LONDON).date(), 14)
    assert change(clinic, booking["id"], "reschedule", headers, tomorrow).status_code == 200
    clinic.clock.now = tomorrow.astimezone(timezone.utc) - timedelta(hours=23)
    again = change(clinic, booking["id"], "reschedule", headers, at(DAY, 10))
    assert error(again)["code"] == "too_late_to_change"


def test_the_notice_is_a_setting(make_clinic):
    clinic = make_clinic(change_notice_hours=48, contact_phone="0800 000 000")
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    assert booking["changeable_until"] == "2026-11-08T10:00:00+00:00"
    clinic.clock.now = at(DAY, 10).astimezone(timezone.utc) - timedelta(hours=47)
    refused = change(clinic, booking["id"], "cancel", clinic.client_headers(ada["client_id"]))
    assert error(refused)["details"]["contact"]["phone"] == "0800 000 000"
    assert error(refused)["details"]["notice_hours"] == 48


# ----- booking tokens -----------------------------------------------------------------------------------

@pytest.fixture
def two_bookings(clinic):
    """Ada's two bookings (five weeks apart, for spacing) and Bob's one."""
    ada, bob = clinic.screen(), clinic.screen()
    first = clinic.book(ada, at(DAY, 10)).get_json()
    second = clinic.book(ada, at(DAY + timedelta(days=35), 10)).get_json()
    bobs = clinic.book(bob, at(DAY, 12)).get_json()
    assert all(b.get("id") for b in (first, second, bobs))
    return ada, first, second, bobs


def test_a_booking_token_reads_its_booking_and_no_other(clinic, two_bookings):
    ada, first, second, bobs = two_bookings
    link = booking_token(clinic, ada["client_id"], first["id"])
    assert clinic.http.get(f"/api/bookings/{first['id']}", headers=link).get_json()["id"] == first["id"]
    assert clinic.http.get(f"/api/bookings/{second['id']}", headers=link).status_code == 404
    assert clinic.http.get(f"/api/bookings/{bobs['id']}", headers=link).status_code == 404
    listed = clinic.http.get("/api/bookings", headers=link).get_json()["bookings"]
    assert [b["id"] for b in listed] == [first["id"]]  # the page finds its booking here


def test_a_booking_token_changes_its_booking_and_no_other(clinic, two_bookings):
    ada, first, second, bobs = two_bookings
    link = booking_token(clinic, ada["client_id"], first["id"])
    assert change(clinic, second["id"], "cancel", link).status_code == 404
    assert change(clinic, bobs["id"], "cancel", link).status_code == 404
    moved = change(clinic, first["id"], "reschedule", link, at(DAY, 14))
    assert moved.status_code == 200 and moved.get_json()["start"] == at(DAY, 14).isoformat()
    assert change(clinic, first["id"], "cancel", link).get_json()["status"] == "cancelled"
    assert clinic.http.get(f"/api/bookings/{second['id']}", headers=clinic.staff).get_json()["status"] == "confirmed"


def test_a_booking_token_does_nothing_else(clinic, two_bookings):
    ada, first, _, _ = two_bookings
    link = booking_token(clinic, ada["client_id"], first["id"])
    new = clinic.book(ada, at(DAY + timedelta(days=70), 10), headers=link)
    assert new.status_code == 403 and error(new)["code"] == "forbidden"
    course = clinic.http.post("/api/courses", json={}, headers=link)
    assert course.status_code == 403
    assert clinic.http.get("/api/courses/any", headers=link).status_code == 403
    assert change(clinic, first["id"], "complete", link).status_code == 403


def test_an_ended_or_forged_booking_token_is_refused(clinic, two_bookings):
    ada, first, _, _ = two_bookings
    ended = booking_token(clinic, ada["client_id"], first["id"], until=datetime.now(timezone.utc) - timedelta(minutes=1))
    assert clinic.http.get(f"/api/bookings/{first['id']}", headers=ended).status_code == 401
    other_key = {"Authorization": "Bearer " + clinic.tokens.issue_booking_token("c", "b", FAR)[:-3] + "abc"}
    assert clinic.http.get("/api/bookings", headers=other_key).status_code == 401
