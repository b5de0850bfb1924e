"""The thin slice, end to end through the gateway, on each backend set:
screening -> screening.completed -> booking -> booking.confirmed -> pre_treatment e-mail sent."""
from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from email import message_from_bytes

import pytest

from system import undelivered_events

pytestmark = pytest.mark.system

ELIGIBLE = {
    "active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
    "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False, "active_skin_infection": False,
    "keloid_scarring": False, "blood_thinners": False,
}


def until(fetch, accept, seconds=30, pause=0.3):
    """Call `fetch` until `accept(result)` is true; return the last result."""
    deadline = time.monotonic() + seconds
    result = fetch()
    while not accept(result) and time.monotonic() < deadline:
        time.sleep(pause)
        result = fetch()
    return result


def screen(system, answers=None, areas=("face",), email=None):
    body = {"client": {"name": "Ada Lovelace", "email": email or f"ada+{uuid.uuid4().hex[:6]}@example.org"},
            "areas": list(areas), "answers": {**ELIGIBLE, **(answers or {})}}
    response = system.call("POST", "/api/screenings", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def first_free_slot(system, areas="face", days_ahead=3, kind=None):
    day = date.today() + timedelta(days=days_ahead)
    for _ in range(20):
        if day.weekday() != 6:
            query = f"date={day.isoformat()}&" + ("type=consultation" if kind == "consultation" else f"areas={areas}")
            slots = system.call("GET", f"/api/availability?{query}").json()["slots"]
            if slots:
                return slots[0]
        day += timedelta(days=1)
    raise AssertionError("no free slot in 20 days")


def book(system, screening, start, headers=None, **extra):
    body = {"screening_id": screening["id"], "areas": screening.get("areas", ["face"]), "start": start, **extra}
    return until(lambda: system.call("POST", "/api/bookings", token=screening["access_token"], json=body,
                                     headers=dict(headers or {})),
                 lambda r: r.status_code != 409 or r.json()["error"]["code"] != "screening_pending")


def test_health_reports_every_service(system):
    response = system.call("GET", "/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok",
                               "services": {"screening": "ok", "booking": "ok", "notifications": "ok",
                                            "staff": "ok"}}


def test_booking_confirmed_sends_pre_treatment_email(system):
    screening = screen(system)
    assert screening["outcome"] == "eligible"
    screening["areas"] = ["face"]
    slot = first_free_slot(system)
    response = book(system, screening, slot["start"], headers={"X-Request-ID": "slice-" + uuid.uuid4().hex[:8]})
    assert response.status_code == 201, response.text
    booking = response.json()
    assert booking["status"] == "confirmed" and booking["start"] == slot["start"]
    assert booking["client_id"] == screening["client_id"]

    token = screening["access_token"]
    notifications = until(
        lambda: system.call("GET", f"/api/notifications?booking_id={booking['id']}", token=token).json(),
        lambda body: any(n["kind"] == "pre_treatment" and n["status"] == "sent" for n in body.get("notifications", [])))
    pre = [n for n in notifications["notifications"] if n["kind"] == "pre_treatment"]
    email = screening_email(system, screening)
    assert len(pre) == 1 and pre[0]["status"] == "sent" and pre[0]["to"] == email

    message = delivered_message(system, pre[0]["id"], email)
    assert booking["reference"] in message["Subject"] + message_text(message)


def screening_email(system, screening):
    detail = system.call("GET", f"/api/screenings/{screening['id']}", token=screening["access_token"]).json()
    return detail["client"]["email"]


def delivered_message(system, notification_id, to):
    """The e-mail as it left the system: from the SMTP server (real) or the .eml outbox (embedded)."""
    if system.mailbox is not None:
        found = until(lambda: [m for m in system.mailbox.messages if to in m["to"]], bool, seconds=10)
        assert found, "no e-mail reached the SMTP server"
        return found[-1]["message"]
    files = list((system.data_dir / "outbox").glob(f"{notification_id}*.eml"))
    assert len(files) == 1, f"expected one .eml for {notification_id}"
    return message_from_bytes(files[0].read_bytes())


def message_text(message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(part.get_payload(decode=True).decode("utf-8", "replace") for part in parts
                   if part.get_content_type() == "text/plain")


def test_answers_never_leave_the_screening_service(system):
    screening = screen(system, answers={"fitzpatrick_type": "V", "blood_thinners": True})
    assert screening["outcome"] == "consultation_required"
    listed = until(lambda: system.staff("GET", "/api/notifications?status=sent").json(),
                   lambda body: any(n["kind"] == "screening_result" for n in body.get("notifications", [])))
    assert any(n["kind"] == "screening_result" for n in listed["notifications"])
    for path in ("/api/bookings", "/api/notifications"):
        text = system.staff("GET", path).text
        assert "blood_thinners\": true" not in text and "fitzpatrick_type" not in text


def test_openapi_covers_the_contract(system):
    spec = system.call("GET", "/api/openapi.json").json()
    for path in ("/api/screening/questionnaire", "/api/screenings", "/api/screenings/{id}",
                 "/api/bookings", "/api/bookings/{id}", "/api/availability", "/api/treatments",
                 "/api/notifications", "/api/health"):
        assert any(p.replace("{screening_id}", "{id}").replace("{booking_id}", "{id}") == path
                   for p in spec["paths"]), path
    assert system.call("GET", "/api/docs").status_code == 200


def test_web_page_is_served(system):
    response = system.call("GET", "/")
    assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]


def test_every_event_reached_every_consumer(system):
    """Last in this module: every event of every test above, screenings not booked included, was consumed
    by each service bound to it (each producer's outbox against each consumer's inbox)."""
    published, missing = undelivered_events(system)
    assert any(event_type == "screening.completed" for _, event_type in published)
    assert not missing, {consumer: (len(events), events[:5]) for consumer, events in missing.items()}
