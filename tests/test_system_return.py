"""Clients who come back (API.md), through the gateway, on the embedded defaults and on PostgreSQL + RabbitMQ +
a real SMTP server: a sign-in link by e-mail and its one-time code, the manage link in a booking's e-mails
and what its token may do, a reschedule through it, and the booking's calendar file."""
from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta
from email import message_from_bytes

import pytest
from icalendar import Calendar

from test_system_slice import ELIGIBLE, until

pytestmark = pytest.mark.system


def text_of(message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(part.get_payload(decode=True).decode("utf-8", "replace") for part in parts
                    if part.get_content_type() == "text/plain")


def mails_to(system, address: str) -> list:
    """Every e-mail the system sent to `address`: from the SMTP server (real) or the .eml outbox (embedded)."""
    if system.mailbox is not None:
        return [m["message"] for m in system.mailbox.messages if address in m["to"]]
    found = [message_from_bytes(p.read_bytes()) for p in sorted((system.data_dir / "outbox").glob("*.eml"))]
    return [m for m in found if address in m["To"]]


def links_in_mail(system, address: str, marker: str, count: int = 1, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        links = [link for m in mails_to(system, address)
                 for link in re.findall(r"(https?://\S+/" + re.escape(marker) + r"\S+)", text_of(m))]
        if len(links) >= count or time.monotonic() > deadline:
            assert len(links) >= count, f"{len(links)} e-mail(s) to {address} with {marker}"
            return links
        time.sleep(0.3)


def screen_and_book(system, address: str, days_ahead: int) -> tuple[dict, dict]:
    screened = system.call("POST", "/api/screenings", json={"client": {"name": "Mary Jackson", "email": address},
                                                             "areas": ["hands"], "answers": ELIGIBLE})
    assert screened.status_code == 201, screened.text
    screening = screened.json()
    day = date.today() + timedelta(days=days_ahead)
    while True:
        slots = [] if day.weekday() == 6 else \
            system.call("GET", f"/api/availability?date={day.isoformat()}&areas=hands").json()["slots"]
        if slots:
            break
        day += timedelta(days=1)
    booked = until(lambda: system.call("POST", "/api/bookings", token=screening["access_token"], json={
        "screening_id": screening["id"], "areas": ["hands"], "start": slots[0]["start"]}),
        lambda r: r.status_code != 409)  # the screening's event may still be on its way to the booking service
    assert booked.status_code == 201, booked.text
    return screening, booked.json()


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_a_client_signs_in_by_email_once_per_code(system):
    address = f"mary+{uuid.uuid4().hex[:6]}@example.org"
    screening, booking = screen_and_book(system, address, days_ahead=10)

    for asked in (address.upper(), f"nobody+{uuid.uuid4().hex[:6]}@example.org"):
        response = system.call("POST", "/api/auth/link", json={"email": asked})
        assert (response.status_code, response.json()) == (202, {})
    [link] = links_in_mail(system, address, "#code=")
    assert link.startswith(f"{system.url}/#code=")
    code = link.split("#code=", 1)[1]

    signed_in = system.call("POST", "/api/auth/token", json={"code": code})
    assert signed_in.status_code == 200, signed_in.text
    body = signed_in.json()
    assert body["client_id"] == screening["client_id"]
    mine = system.call("GET", "/api/bookings", token=body["access_token"]).json()["bookings"]
    assert [b["id"] for b in mine] == [booking["id"]]
    again = system.call("POST", "/api/auth/token", json={"code": code})
    assert again.status_code == 401 and error_code(again) == "unauthorized"
    assert error_code(system.call("POST", "/api/auth/token", json={"code": "made-up"})) == "unauthorized"

    # Three links per e-mail in a quarter of an hour; the fourth waits.
    for _ in range(2):
        assert system.call("POST", "/api/auth/link", json={"email": address}).status_code == 202
    limited = system.call("POST", "/api/auth/link", json={"email": address})
    assert limited.status_code == 429 and error_code(limited) == "rate_limited" and limited.headers["Retry-After"]


def test_the_manage_link_opens_one_booking_until_it_ends(system):
    address = f"mary+{uuid.uuid4().hex[:6]}@example.org"
    screening, booking = screen_and_book(system, address, days_ahead=12)
    _, other = screen_and_book(system, f"other+{uuid.uuid4().hex[:6]}@example.org", days_ahead=12)
    [link] = links_in_mail(system, address, "#manage=")
    token = link.split("#manage=", 1)[1]

    assert system.call("GET", f"/api/bookings/{booking['id']}", token=token).json()["id"] == booking["id"]
    assert [b["id"] for b in system.call("GET", "/api/bookings", token=token).json()["bookings"]] == [booking["id"]]
    assert system.call("GET", f"/api/bookings/{other['id']}", token=token).status_code == 404
    notifications = system.call("GET", "/api/notifications", token=token).json()["notifications"]
    assert notifications and {n["booking_id"] for n in notifications} == {booking["id"]}
    for method, path, body in [("GET", f"/api/screenings/{screening['id']}", None),
                               ("POST", "/api/screenings", {}), ("POST", "/api/bookings", {}),
                               ("POST", f"/api/bookings/{booking['id']}/complete", None)]:
        response = system.call(method, path, token=token, json=body)
        assert response.status_code == 403 and error_code(response) == "forbidden", (method, path, response.text)

    ics = system.call("GET", f"/api/notifications/calendar?booking_id={booking['id']}", token=token)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    [event] = Calendar.from_ical(ics.text).walk("VEVENT")
    uid, sequence = str(event["UID"]), int(event["SEQUENCE"])
    assert event["DTSTART"].params["TZID"] == "Europe/London"

    # Reschedule through the link: the new invitation updates the same calendar event, with its own link.
    start = booking["start"]
    slots = system.call("GET", f"/api/availability?date={start[:10]}&areas=hands").json()["slots"]
    new_start = next(s["start"] for s in slots if s["start"] != start)
    moved = system.call("POST", f"/api/bookings/{booking['id']}/reschedule", token=token, json={"start": new_start})
    assert moved.status_code == 200, moved.text
    links = links_in_mail(system, address, "#manage=", count=2)
    deadline = time.monotonic() + 30
    while True:
        [event] = Calendar.from_ical(system.call("GET", f"/api/notifications/calendar?booking_id={booking['id']}",
                                                 token=token).text).walk("VEVENT")
        if int(event["SEQUENCE"]) > sequence or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) > sequence
    assert len(set(links)) == 2  # the new time's link lasts until the new end

    cancelled = system.call("POST", f"/api/bookings/{booking['id']}/cancel", token=links[-1].split("#manage=")[1],
                            json={})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
