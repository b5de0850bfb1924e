"""A client's data in the booking service: its part of the export, and the erasure on `client.erasure_requested`
(fed through the worker's InboxProcessor with real envelopes), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from clinic_shared.erasure import ERASED_CLIENT_ID
from clinic_shared.events import make_envelope

from booking.store.tables import bookings, erased_clients, idempotency_keys, outbox, screenings, waitlist

FIRST = "2026-11-05T10:00:00+00:00"      # three days after the tests' clock
LATER = "2026-11-12T10:00:00+00:00"      # a consultation a week on
COURSE_START = "2026-12-15T10:00:00+00:00"


def erasure_requested(client_id: str) -> dict:
    return make_envelope("client.erasure_requested", {"client_id": client_id, "reason": "request",
                                                      "requested_at": "2026-11-06T12:00:00+00:00"},
                         producer="screening")


def table(clinic, which) -> list:
    with clinic.sessions() as session:
        return session.execute(select(which)).all()


def outbox_events(clinic) -> list[dict]:
    return [json.loads(row.body) for row in table(clinic, outbox)]


@pytest.fixture
def ada(clinic):
    """A client with a treatment (to be in the past), a consultation and a course ahead, one made with an
    Idempotency-Key and one cancelled with a reason in her own words."""
    screening = clinic.screen(name="Ada Lovelace")
    headers = clinic.client_headers(screening["client_id"])
    first = clinic.book(screening, FIRST, headers={**headers, "Idempotency-Key": "k-1"}).get_json()
    later = clinic.book(screening, LATER, type_="consultation", areas=()).get_json()
    assert later.get("id"), later
    gone = clinic.book(screening, "2026-11-13T10:00:00+00:00", type_="consultation", areas=()).get_json()
    clinic.http.post(f"/api/bookings/{gone['id']}/cancel", json={"reason": "Ada's own words"}, headers=headers)
    course = clinic.http.post("/api/courses", headers=headers, json={
        "screening_id": screening["screening_id"], "areas": ["face"], "sessions": 3, "interval_weeks": 4,
        "start": COURSE_START})
    assert course.status_code == 201, course.get_json()
    return {"screening": screening, "headers": headers, "first": first, "later": later, "gone": gone,
            "course": course.get_json()}


def test_an_admin_or_the_client_exports_the_bookings_courses_and_waitlist(clinic, ada):
    path = f"/internal/clients/{ada['screening']['client_id']}/export"
    for headers in (clinic.staff, ada["headers"]):
        export = clinic.http.get(path, headers=headers)
        assert export.status_code == 200, export.get_json()
        body = export.get_json()
        assert {b["id"] for b in body["bookings"]} >= {ada["first"]["id"], ada["later"]["id"], ada["gone"]["id"]}
        assert len(body["bookings"]) == 6  # three single ones and the course's three
        assert [c["id"] for c in body["courses"]] == [ada["course"]["id"]]
        assert len(body["courses"][0]["bookings"]) == 3
        assert body["waitlist"] == []
    other = clinic.screen()
    assert clinic.http.get(path, headers=clinic.client_headers(other["client_id"])).status_code == 404
    assert clinic.http.get(path).status_code == 401


def test_erasure_cancels_the_future_silently_and_keeps_the_past_without_identity(clinic, ada):
    client_id = ada["screening"]["client_id"]
    before = {e["event_id"] for e in outbox_events(clinic)}
    clinic.clock.now += timedelta(days=4)  # the first treatment is over
    assert clinic.processor.process(erasure_requested(client_id))
    rows = {row.id: row for row in table(clinic, bookings)}
    assert all(row.client_id == ERASED_CLIENT_ID for row in rows.values())
    assert all(row.cancel_reason is None for row in rows.values())
    assert rows[ada["first"]["id"]].status == "confirmed"  # the past, for the clinic's records
    assert rows[ada["later"]["id"]].status == "cancelled" and rows[ada["later"]["id"]].version == 2
    assert all(rows[b["id"]].status == "cancelled" for b in ada["course"]["bookings"])
    assert table(clinic, screenings) == [] and table(clinic, idempotency_keys) == []
    events = outbox_events(clinic)
    assert not [e for e in events if e["type"].startswith("booking.")]  # no cancellation to send; old ones gone
    (report,) = [e for e in events if e["event_id"] not in before]
    assert report["type"] == "client.erased"
    assert report["data"] == {"client_id": client_id, "service": "booking", "erased_at": report["data"]["erased_at"]}
    assert "Ada" not in json.dumps([dict(row._mapping) for row in table(clinic, outbox)], default=str)


def test_after_erasure_tokens_fail_late_events_bring_nothing_back_and_the_event_may_repeat(clinic, ada):
    client_id = ada["screening"]["client_id"]
    clinic.processor.process(erasure_requested(client_id))
    clinic.clock.now += timedelta(seconds=1)  # past the second a "not erased" answer is kept (clinic_shared.erasure)
    assert clinic.http.get("/api/bookings", headers=ada["headers"]).status_code == 401
    assert clinic.book(ada["screening"], "2026-11-20T10:00:00+00:00").status_code == 401
    late = make_envelope("screening.completed", clinic.screening_data(client_id), producer="screening")
    assert clinic.processor.process(late)  # acknowledged, and dropped
    assert table(clinic, screenings) == []
    assert clinic.processor.process(erasure_requested(client_id))  # again, under a new event id
    assert len(table(clinic, erased_clients)) == 1
    assert [e["type"] for e in outbox_events(clinic)].count("client.erased") == 2  # reported again: harmless
    export = clinic.http.get(f"/internal/clients/{client_id}/export", headers=clinic.staff).get_json()
    assert export == {"bookings": [], "courses": [], "waitlist": []}


def test_staff_may_still_complete_a_past_booking_of_an_erased_client(clinic, ada):
    clinic.clock.now += timedelta(days=4)
    clinic.processor.process(erasure_requested(ada["screening"]["client_id"]))
    events_before = len(outbox_events(clinic))
    done = clinic.http.post(f"/api/bookings/{ada['first']['id']}/complete", headers=clinic.staff)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["client_id"] == ERASED_CLIENT_ID
    new = [e["type"] for e in outbox_events(clinic)][events_before:]
    assert new == ["audit.recorded"]  # no booking event: nobody is to be told


# ----- the waitlist's part ------------------------------------------------------------------------------------

WAIT_DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' clock


def waitlist_entry(clinic, entry_id: str) -> dict:
    response = clinic.http.get(f"/api/waitlist/{entry_id}", headers=clinic.staff)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def offered_to(clinic) -> list[str]:
    return [e["data"]["entry_id"] for e in outbox_events(clinic) if e["type"] == "waitlist.offered"]


def test_the_export_shows_the_clients_waitlist_entries_as_the_api_does(clinic, ada):
    client_id = ada["screening"]["client_id"]
    joined = []
    for day in (WAIT_DAY, WAIT_DAY + timedelta(days=1)):  # consultations: no spacing from her treatment
        response = clinic.join_waitlist(ada["screening"], day, type_="consultation", areas=())
        assert response.status_code == 201, response.get_json()
        joined.append(response.get_json())
        clinic.clock.now += timedelta(seconds=1)
    clinic.join_waitlist(clinic.screen(), WAIT_DAY)  # someone else's
    for headers in (clinic.staff, ada["headers"]):
        body = clinic.http.get(f"/internal/clients/{client_id}/export", headers=headers).get_json()
        assert body["waitlist"] == [waitlist_entry(clinic, e["id"]) for e in joined]  # oldest first


def test_erasure_deletes_the_waitlist_entries_and_passes_a_held_time_on(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    _, booked = clinic.fill_day(WAIT_DAY)
    ada, bob = clinic.screen(name="Ada Lovelace"), clinic.screen(name="Bob Babbage")
    ada_entry = clinic.join_waitlist(ada, WAIT_DAY).get_json()
    ada_later = clinic.join_waitlist(ada, WAIT_DAY + timedelta(days=1)).get_json()  # waiting, holds nothing
    clinic.clock.now += timedelta(seconds=1)
    bob_entry = clinic.join_waitlist(bob, WAIT_DAY).get_json()
    cancelled = clinic.http.post(f"/api/bookings/{booked[5]['id']}/cancel", json={}, headers=clinic.staff)
    assert cancelled.status_code == 200, cancelled.get_json()
    clinic.deliver_own_events()
    held = waitlist_entry(clinic, ada_entry["id"])
    assert held["status"] == "offered" and waitlist_entry(clinic, bob_entry["id"])["status"] == "waiting"

    assert clinic.processor.process(erasure_requested(ada["client_id"]))
    assert [row.id for row in table(clinic, waitlist)] == [bob_entry["id"]]  # hers are gone, not anonymised
    passed_on = waitlist_entry(clinic, bob_entry["id"])
    assert (passed_on["status"], passed_on["offer"]["start"]) == ("offered", held["offer"]["start"])
    assert offered_to(clinic) == [bob_entry["id"]]  # the events about her went with her; his is new
    assert clinic.http.get(f"/api/waitlist/{ada_later['id']}", headers=clinic.staff).status_code == 404
    export = clinic.http.get(f"/internal/clients/{ada['client_id']}/export", headers=clinic.staff).get_json()
    assert export["waitlist"] == []

    assert clinic.processor.process(erasure_requested(ada["client_id"]))  # again: nothing more to pass on
    assert offered_to(clinic) == [bob_entry["id"]]


def test_the_time_an_erased_clients_future_booking_held_goes_to_the_waitlist(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    filler, booked = clinic.fill_day(WAIT_DAY)
    bob = clinic.screen(name="Bob Babbage")
    bob_entry = clinic.join_waitlist(bob, WAIT_DAY).get_json()
    assert clinic.processor.process(erasure_requested(filler["client_id"]))  # cancels the day without an event
    offered = waitlist_entry(clinic, bob_entry["id"])
    assert offered["status"] == "offered"
    assert datetime.fromisoformat(offered["offer"]["start"]) == datetime.fromisoformat(booked[0]["start"])
    assert offered_to(clinic) == [bob_entry["id"]]
