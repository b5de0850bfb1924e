"""API.md "Waitlist" through the gateway, on each backend set: joining a full day, freed time offered to the
oldest entry that fits (from a cancellation, through the booking worker's own queue), held from everyone else,
the `waitlist_offer` e-mail as it left the system, the held time booked, a staff removal audited; and at the
end every event reached every consumer bound to it, booking's own included."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from system import undelivered_events
from test_system_slice import book, delivered_message, screen, until

pytestmark = pytest.mark.system


def full_day(system) -> tuple[date, dict, list[dict]]:
    """A day some weeks ahead booked solid by one client's back-to-back consultations (they keep no spacing)."""
    day = date.today() + timedelta(weeks=9, days=uuid.uuid4().int % 6)
    day += timedelta(days=1) if day.weekday() == 6 else timedelta()
    filler = screen(system)
    booked = []
    while slots := system.call("GET", f"/api/availability?date={day}&type=consultation").json()["slots"]:
        response = book(system, filler, slots[0]["start"], type="consultation", areas=[])
        assert response.status_code == 201, response.text
        booked.append(response.json())
    return day, filler, booked


def join(system, screening: dict, day: date, **body):
    payload = {"screening_id": screening["id"], "areas": ["neck"], "date": day.isoformat(), **body}
    return until(lambda: system.call("POST", "/api/waitlist", token=screening["access_token"], json=payload),
                 lambda r: r.status_code != 409 or r.json()["error"]["code"] != "screening_pending")


def test_freed_time_is_offered_held_and_booked_through_the_gateway(system):
    day, filler, booked = full_day(system)
    email = f"wendy+{uuid.uuid4().hex[:6]}@example.org"
    wendy, carl = screen(system, email=email), screen(system, answers={"blood_thinners": True})
    first = join(system, wendy, day)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert {k: entry[k] for k in ("status", "type", "areas", "date", "offer")} == {
        "status": "waiting", "type": "treatment", "areas": ["neck"], "date": day.isoformat(), "offer": None}
    twice = join(system, wendy, day, type="consultation", areas=[])
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "conflict")
    sunday = day + timedelta(days=(6 - day.weekday()) % 7 or 7)
    refused = join(system, wendy, sunday)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "outside_opening_hours")
    carls = join(system, carl, day, type="consultation", areas=[])
    assert carls.status_code == 201, carls.text
    assert system.call("GET", "/api/waitlist", token=carl["access_token"]).json()["waitlist"] == [carls.json()]
    assert {e["id"] for e in system.staff("GET", f"/api/waitlist?date={day}").json()["waitlist"]} == {
        entry["id"], carls.json()["id"]}

    freed = booked[len(booked) // 3]
    cancelled = system.call("POST", f"/api/bookings/{freed['id']}/cancel", token=filler["access_token"], json={})
    assert cancelled.status_code == 200, cancelled.text
    offered = until(lambda: system.call("GET", f"/api/waitlist/{entry['id']}", token=wendy["access_token"]).json(),
                    lambda e: e["status"] != "waiting", seconds=60)
    assert offered["status"] == "offered", offered
    assert (offered["offer"]["start"], offered["offer"]["end"]) == (freed["start"], freed["end"])
    assert system.call("GET", f"/api/waitlist/{carls.json()['id']}", token=carl["access_token"]).json()[
        "status"] == "waiting"  # younger: the time went to the oldest entry that fits

    # Held: not free to anyone else, and the e-mail says so with the link.
    assert system.call("GET", f"/api/availability?date={day}&type=consultation").json()["slots"] == []
    taken = book(system, carl, freed["start"], type="consultation", areas=[])
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "slot_unavailable")
    sent = until(lambda: [n for n in system.staff("GET", "/api/notifications").json()["notifications"]
                          if n["kind"] == "waitlist_offer" and n["to"] == email and n["status"] == "sent"],
                 bool, seconds=60)
    assert len(sent) == 1
    mail = delivered_message(system, sent[0]["id"], email)
    text = mail.get_payload(decode=True).decode()
    assert f"/#waitlist={entry['id']}" in text and f"{freed['start'][11:16]} to {freed['end'][11:16]}" in text

    response = book(system, {**wendy, "areas": ["neck"]}, freed["start"])
    assert response.status_code == 201, response.text
    done = system.call("GET", f"/api/waitlist/{entry['id']}", token=wendy["access_token"]).json()
    assert (done["status"], done["booking_id"]) == ("booked", response.json()["id"])

    # Staff remove the other entry: recorded in the audit trail.
    assert system.staff("DELETE", f"/api/waitlist/{carls.json()['id']}").status_code == 204
    assert system.call("GET", f"/api/waitlist/{carls.json()['id']}", token=carl["access_token"]).status_code == 404
    audited = until(lambda: system.staff("GET", "/api/audit", params={"action": "waitlist.deleted"}).json()["entries"],
                    lambda entries: any(e["resource"]["id"] == carls.json()["id"] for e in entries), seconds=30)
    assert [e["resource"] for e in audited if e["resource"]["id"] == carls.json()["id"]] == [
        {"type": "waitlist_entry", "id": carls.json()["id"]}]


def test_every_event_reached_every_consumer(system):
    """Last in this module: booking's own events reached its queue and the offer reached notifications."""
    published, missing = undelivered_events(system)
    assert any(event_type == "waitlist.offered" for _, event_type in published)
    assert not missing, {consumer: (len(events), events[:5]) for consumer, events in missing.items()}
