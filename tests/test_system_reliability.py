"""What operations rely on: a request id followed across processes, nothing lost while a worker is down,
nothing done twice when an event arrives again."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from clinic_shared.broker import Publisher, connect
from clinic_shared.settings import load_settings
from clinic_shared.topology import Topology
from test_system_slice import book, first_free_slot, screen, until

pytestmark = pytest.mark.system


def notifications_of(system, booking, token):
    response = system.call("GET", f"/api/notifications?booking_id={booking['id']}", token=token)
    return response.json().get("notifications", []) if response.status_code == 200 else []


def sent_pre_treatment(system, booking, token):
    return [n for n in notifications_of(system, booking, token) if n["kind"] == "pre_treatment" and n["status"] == "sent"]


def log_lines(system, process):
    lines = []
    for line in system.logs[process].read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # gunicorn's first lines, before logging is configured
    return lines


def test_request_id_follows_a_booking_into_the_workers(system):
    screening = screen(system)
    request_id = "trace-" + uuid.uuid4().hex[:12]
    response = book(system, screening, first_free_slot(system, days_ahead=5)["start"],
                    headers={"X-Request-ID": request_id})
    assert response.status_code == 201 and response.headers["X-Request-ID"] == request_id
    handled = until(lambda: [entry for entry in log_lines(system, "notifications-worker")
                             if entry.get("request_id") == request_id and "booking.confirmed" in entry["message"]],
                    bool)
    assert handled, "the notifications worker never logged the booking's request id"
    assert any(entry.get("request_id") == request_id for entry in log_lines(system, "booking"))


def test_messages_wait_for_a_stopped_worker_and_are_sent_once(system):
    screening = screen(system)
    token = screening["access_token"]
    system.stop("notifications-worker")
    try:
        response = book(system, screening, first_free_slot(system, days_ahead=8)["start"])
        assert response.status_code == 201, response.text
        booking = response.json()
        time.sleep(2)
        assert notifications_of(system, booking, token) == []  # nobody consumed the event yet
    finally:
        system.start("notifications-worker")
    assert until(lambda: sent_pre_treatment(system, booking, token), bool, seconds=40)
    time.sleep(2)
    assert len(sent_pre_treatment(system, booking, token)) == 1


def test_booking_learns_screenings_made_while_its_worker_was_killed(system):
    import signal

    system.stop("booking-worker", sig=signal.SIGKILL)
    try:
        screening = screen(system)
        body = {"screening_id": screening["id"], "areas": ["face"],
                "start": first_free_slot(system, days_ahead=11)["start"]}
        pending = system.call("POST", "/api/bookings", token=screening["access_token"], json=body)
        assert pending.status_code == 409 and pending.json()["error"]["code"] == "screening_pending"
        assert int(pending.headers["Retry-After"]) > 0
    finally:
        system.start("booking-worker")
    booked = book(system, screening, body["start"])
    assert booked.status_code == 201, booked.text


def test_a_redelivered_booking_event_sends_nothing_twice(system):
    screening = screen(system)
    token = screening["access_token"]
    booking = book(system, screening, first_free_slot(system, days_ahead=14)["start"]).json()
    assert until(lambda: sent_pre_treatment(system, booking, token), bool)
    before = len(notifications_of(system, booking, token))

    # Publish the very event the booking service wrote to its outbox once more, as a broker redelivery would.
    settings = load_settings("booking", system.env)
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        bodies = [json.loads(row.body) for row in connection.execute(
            text("SELECT body FROM outbox WHERE type = 'booking.confirmed'"))]
    engine.dispose()
    envelope = next(b for b in bodies if b["data"]["booking_id"] == booking["id"])
    with connect(settings) as connection:
        Publisher(connection, Topology(settings.topology_prefix)).publish(envelope)

    assert until(lambda: [e for e in log_lines(system, "notifications-worker")
                          if envelope["event_id"] in e["message"] and "skipped" in e["message"]], bool)
    assert len(notifications_of(system, booking, token)) == before
    assert len(sent_pre_treatment(system, booking, token)) == 1


def test_health_shows_a_dead_worker_and_its_return(system):
    import signal

    system.stop("screening-worker", sig=signal.SIGKILL)
    try:
        down = until(lambda: system.call("GET", "/api/health"), lambda r: r.status_code == 503, seconds=30)
        assert down.status_code == 503
        assert down.json()["services"] == {"screening": "down", "booking": "ok", "notifications": "ok",
                                                 "staff": "ok"}
    finally:
        system.start("screening-worker")
    assert until(lambda: system.call("GET", "/api/health"), lambda r: r.status_code == 200, seconds=30).status_code == 200
