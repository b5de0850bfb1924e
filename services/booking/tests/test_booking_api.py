"""The booking endpoints of API.md on a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.domain.clinic import LONGEST_BLOCK, MAX_TURNOVER_MINUTES
from booking.settings import load_booking_settings
from booking.store import repository
from booking.store.tables import bookings, outbox
from clinic_shared.events import make_envelope

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' "now"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def events(clinic, event_type: str | None = None) -> list[dict]:
    with clinic.sessions() as session:
        rows = session.execute(select(outbox.c.body).order_by(outbox.c.id)).all()
    found = [json.loads(r.body) for r in rows]
    return [e for e in found if event_type is None or e["type"] == event_type]


# ----- catalogue -----------------------------------------------------------------------------

def test_treatments_and_practitioners_are_public(clinic):
    treatments = clinic.http.get("/api/treatments").get_json()
    assert {"id": "face", "name": "Face", "duration_minutes": 60} in treatments["areas"]
    assert treatments["consultation"] == {"duration_minutes": 30}
    assert treatments["max_session_minutes"] == 60
    practitioners = clinic.http.get("/api/practitioners").get_json()["practitioners"]
    assert len(practitioners) == 2 and all(set(p) == {"id", "name"} for p in practitioners)


def test_openapi_describes_the_endpoints(clinic):
    paths = clinic.http.get("/openapi.json").get_json()["paths"]
    for path in ("/api/bookings", "/api/bookings/{booking_id}/reschedule", "/api/availability",
                 "/api/courses", "/api/closures/{day}", "/api/treatments"):
        assert path in paths


def test_health_reports_database_and_broker(clinic):
    body = clinic.http.get("/health").get_json()
    assert body["checks"]["database"] == "ok" and "broker" in body["checks"]


# ----- booking -------------------------------------------------------------------------------

def test_book_a_treatment(clinic):
    screening = clinic.screen()
    response = clinic.book(screening, "2026-11-10T10:00:00Z", areas=["neck", "hands"],
                           headers=clinic.client_headers(screening["client_id"], **{"X-Request-ID": "req-42"}))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "reference", "status", "type", "areas", "start", "end", "practitioner",
                         "client_id", "screening_id", "course_id", "version", "changeable_until"}  # beyond API.md, additive
    assert body["status"] == "confirmed" and body["type"] == "treatment" and body["course_id"] is None
    assert body["areas"] == ["neck", "hands"]
    assert body["start"] == "2026-11-10T10:00:00+00:00" and body["end"] == "2026-11-10T11:00:00+00:00"
    assert body["client_id"] == screening["client_id"] and body["screening_id"] == screening["screening_id"]
    assert re.fullmatch(r"MN-[2-9A-Z]{6}", body["reference"])
    assert body["practitioner"]["id"] in {p.id for p in clinic.settings.rules.practitioners}

    [event] = events(clinic, "booking.confirmed")
    assert event["correlation_id"] == "req-42" and event["producer"] == "booking"
    data = event["data"]
    assert data["booking_id"] == body["id"] and data["reference"] == body["reference"]
    assert data["client"]["email"] == screening["client"]["email"] and data["timezone"] == "Europe/London"
    assert data["start"] == body["start"]


def test_summer_times_come_back_with_the_summer_offset(clinic):
    clinic.clock.now = datetime(2026, 6, 1, 9, tzinfo=LONDON)
    screening = clinic.screen()
    body = clinic.book(screening, "2026-06-09T08:00:00Z").get_json()  # 09:00 BST
    assert body["start"] == "2026-06-09T09:00:00+01:00" and body["end"] == "2026-06-09T10:00:00+01:00"


def test_consultation_needs_only_a_screening(clinic):
    screening = clinic.screen(outcome="not_suitable")
    assert error_code(clinic.book(screening, at(DAY, 10))) == "screening_not_eligible"
    response = clinic.book(screening, at(DAY, 10), areas=[], type_="consultation")
    assert response.status_code == 201
    body = response.get_json()
    assert body["type"] == "consultation" and body["areas"] == []
    assert body["end"] == at(DAY, 10, 30).isoformat()


def test_unknown_screening_is_pending_with_retry_after(clinic):
    response = clinic.book({"screening_id": "not-yet", "client_id": "c1"}, at(DAY, 10))
    assert response.status_code == 409 and error_code(response) == "screening_pending"
    assert response.headers["Retry-After"] == "2"


def test_a_booking_waits_for_a_screening_that_arrives_meanwhile(make_clinic):
    clinic = make_clinic(env={"CLINIC_BOOKING_SCREENING_WAIT": "2"})
    data = clinic.screening_data("c-late")
    arrives = threading.Timer(0.3, lambda: clinic.processor.process(
        make_envelope("screening.completed", data, producer="screening")))
    arrives.start()  # the screening event comes while the booking request is already in
    try:
        response = clinic.book(data, at(DAY, 10))
    finally:
        arrives.join()
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["screening_id"] == data["screening_id"]


def test_a_screening_that_does_not_arrive_within_the_wait_is_pending(make_clinic):
    clinic = make_clinic(env={"CLINIC_BOOKING_SCREENING_WAIT": "0.2"})
    data = clinic.screening_data("c-never")
    response = clinic.book(data, at(DAY, 10))
    assert response.status_code == 409 and error_code(response) == "screening_pending"
    clinic.screen(client_id="c-never", screening_id=data["screening_id"])  # it comes later: the retry books
    assert clinic.book(data, at(DAY, 10)).status_code == 201


def test_the_screening_wait_is_bounded(tmp_path):
    with pytest.raises(ValueError):
        load_booking_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_BOOKING_SCREENING_WAIT": "30"})


def test_another_clients_screening_is_not_found(clinic):
    screening = clinic.screen()
    response = clinic.book(screening, at(DAY, 10), headers=clinic.client_headers("someone-else"))
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_auth_on_booking(clinic):
    screening = clinic.screen()
    body = {"screening_id": screening["screening_id"], "areas": ["face"], "start": at(DAY, 10).isoformat()}
    assert clinic.http.post("/api/bookings", json=body).status_code == 401
    assert clinic.http.post("/api/bookings", json={}).status_code == 401  # the token is checked first
    bad = clinic.http.post("/api/bookings", json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and error_code(bad) == "unauthorized"
    staff = clinic.http.post("/api/bookings", json=body, headers=clinic.staff)
    assert staff.status_code == 403 and error_code(staff) == "forbidden"


def test_malformed_requests(clinic):
    screening = clinic.screen()
    headers = clinic.client_headers(screening["client_id"])
    naive = clinic.book(screening, "2026-11-10T10:00:00")
    assert naive.status_code == 422 and error_code(naive) == "timezone_required"
    missing = clinic.http.post("/api/bookings", json={"areas": ["face"]}, headers=headers)
    assert missing.status_code == 422 and set(missing.get_json()["error"]["details"]["fields"]) >= {"screening_id", "start"}
    not_json = clinic.http.post("/api/bookings", data="{nope", headers={**headers, "Content-Type": "application/json"})
    assert not_json.status_code == 400 and error_code(not_json) == "bad_request"
    for areas in ([], ["elbow"], ["neck", "neck"]):
        response = clinic.book(screening, at(DAY, 10), areas=areas)
        assert response.status_code == 422 and error_code(response) == "validation_error", areas
        assert "areas" in response.get_json()["error"]["details"]["fields"]
    wrong_type = clinic.http.post("/api/bookings", json={"screening_id": screening["screening_id"], "type": "massage",
                                                          "start": at(DAY, 10).isoformat()}, headers=headers)
    assert wrong_type.status_code == 422
    assert clinic.http.get("/api/bookings/nope", headers=headers).status_code == 404
    # Edges of the calendar are refused as malformed, never an overflow (a 500).
    for start in ("9999-12-31T23:59:00-05:00", "0001-01-01T00:00:00+05:00", 12, None, "soon"):
        response = clinic.book(screening, start)
        assert response.status_code == 422 and error_code(response) == "validation_error", start
    for query in ("/api/availability?date=9999-12-31&areas=neck", "/api/bookings?date=9999-12-31"):
        assert clinic.http.get(query, headers=clinic.staff).status_code == 422, query
    edge = clinic.http.post("/api/closures", json={"date": "9999-12-31", "reason": "x"}, headers=clinic.staff)
    assert edge.status_code == 422
    long_key = clinic.book(screening, at(DAY, 10), headers={**headers, "Idempotency-Key": "k" * 201})
    assert long_key.status_code == 422


def test_each_clinic_rule_has_its_code(clinic):
    screening = clinic.screen()
    cases = [
        (at(DAY, 16, 45), ["face"], "outside_opening_hours"),
        (at(DAY, 7, 30), ["neck"], "outside_opening_hours"),
        (at(date(2026, 11, 15), 10), ["face"], "outside_opening_hours"),  # a Sunday
        (at(DAY, 10, 5), ["face"], "invalid_slot"),
        (clinic.clock.now + timedelta(hours=1), ["neck"], "too_soon"),
        (at(date(2026, 10, 27), 10), ["neck"], "too_soon"),  # the past
        (at(date(2027, 11, 9), 10), ["neck"], "too_far_ahead"),
        (at(DAY, 10), ["face", "neck"], "session_too_long"),
    ]
    for start, areas, code in cases:
        response = clinic.book(screening, start, areas=areas)
        assert response.status_code == 422 and error_code(response) == code, (start, code, response.get_json())
    assert clinic.book(screening, at(DAY, 16, 30)).status_code == 201  # the last 60-minute start
    assert events(clinic, "booking.confirmed") and len(events(clinic)) == 1  # refusals wrote nothing


def test_screening_must_be_eligible_and_unexpired(clinic):
    pending_clearance = clinic.screen(outcome="consultation_required")
    assert error_code(clinic.book(pending_clearance, at(DAY, 10))) == "screening_not_eligible"
    expiring = clinic.screen(valid_days=3)
    clinic.clock.now += timedelta(days=4)
    response = clinic.book(expiring, at(DAY, 10))
    assert response.status_code == 422 and error_code(response) == "screening_expired"


def test_treatment_spacing_both_directions(clinic):
    screening = clinic.screen()
    assert clinic.book(screening, at(date(2026, 12, 1), 10)).status_code == 201
    later = clinic.book(screening, at(date(2026, 12, 15), 10))
    assert later.status_code == 422 and error_code(later) == "treatment_spacing"
    assert later.get_json()["error"]["details"]["earliest_start"] == "2026-12-29T10:00:00+00:00"
    earlier = clinic.book(screening, at(date(2026, 11, 17), 10))
    assert error_code(earlier) == "treatment_spacing"
    assert clinic.book(screening, at(date(2026, 11, 3), 10)).status_code == 201  # exactly 28 days before
    assert clinic.book(screening, at(date(2026, 12, 15), 10), areas=[], type_="consultation").status_code == 201


def test_no_practitioner_left_is_slot_unavailable(clinic):
    first, second, third = clinic.screen(), clinic.screen(), clinic.screen()
    a = clinic.book(first, at(DAY, 10)).get_json()
    b = clinic.book(second, at(DAY, 10, 30), areas=["neck"]).get_json()
    assert a["practitioner"]["id"] != b["practitioner"]["id"]
    response = clinic.book(third, at(DAY, 10, 45), areas=["neck"])
    assert response.status_code == 409 and error_code(response) == "slot_unavailable"


def test_turnover_between_bookings(make_clinic):
    clinic = make_clinic(practitioners=["Solo Practitioner"])
    one, two, three = clinic.screen(), clinic.screen(), clinic.screen()
    assert clinic.book(one, at(DAY, 9)).status_code == 201
    assert error_code(clinic.book(two, at(DAY, 10), areas=["neck"])) == "slot_unavailable"
    assert clinic.book(two, at(DAY, 10, 15), areas=["neck"]).status_code == 201
    assert error_code(clinic.book(three, at(DAY, 8, 30), areas=["neck"])) == "slot_unavailable"
    assert clinic.book(three, at(DAY, 8), areas=["neck"], type_="consultation").status_code == 201
    assert clinic.book(clinic.screen(), at(DAY, 17), areas=["neck"]).status_code == 201  # ends 17:30


def test_idempotency_key(clinic):
    screening = clinic.screen()
    headers = clinic.client_headers(screening["client_id"], **{"Idempotency-Key": "abc-1"})
    first = clinic.book(screening, at(DAY, 10), headers=headers)
    again = clinic.book(screening, at(DAY, 10).astimezone(ZoneInfo("UTC")), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json() == first.get_json()
    other = clinic.book(screening, at(DAY, 11), headers=headers)
    assert other.status_code == 409 and error_code(other) == "idempotency_conflict"
    # The key belongs to its client: another client's same key is a different request.
    stranger = clinic.screen()
    theirs = clinic.book(stranger, at(DAY, 12), headers=clinic.client_headers(stranger["client_id"], **{"Idempotency-Key": "abc-1"}))
    assert theirs.status_code == 201
    with clinic.sessions() as session:
        assert len(session.execute(select(bookings.c.id)).all()) == 2
    assert len(events(clinic, "booking.confirmed")) == 2


# ----- reading -------------------------------------------------------------------------------

def test_get_and_list_bookings(clinic):
    ada, bob = clinic.screen(), clinic.screen()
    a1 = clinic.book(ada, at(DAY, 11)).get_json()
    a2 = clinic.book(ada, at(DAY, 9), areas=[], type_="consultation").get_json()
    b1 = clinic.book(bob, at(date(2026, 11, 11), 9)).get_json()
    ada_h = clinic.client_headers(ada["client_id"])
    assert clinic.http.get(f"/api/bookings/{a1['id']}", headers=ada_h).get_json() == a1
    assert clinic.http.get(f"/api/bookings/{a1['id']}", headers=clinic.staff).get_json() == a1
    assert clinic.http.get(f"/api/bookings/{b1['id']}", headers=ada_h).status_code == 404
    assert clinic.http.get(f"/api/bookings/{a1['id']}").status_code == 401
    own = clinic.http.get("/api/bookings", headers=ada_h).get_json()["bookings"]
    assert [b["id"] for b in own] == [a2["id"], a1["id"]]  # ordered by start
    everyone = clinic.http.get("/api/bookings", headers=clinic.staff).get_json()["bookings"]
    assert [b["id"] for b in everyone] == [a2["id"], a1["id"], b1["id"]]
    one_day = clinic.http.get("/api/bookings?date=2026-11-11", headers=clinic.staff).get_json()["bookings"]
    assert [b["id"] for b in one_day] == [b1["id"]]
    assert clinic.http.get("/api/bookings?date=11/11/2026", headers=clinic.staff).status_code == 422


# ----- changing ------------------------------------------------------------------------------

def test_cancel_frees_the_slot_and_writes_the_event(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    ada, bob = clinic.screen(), clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    assert error_code(clinic.book(bob, at(DAY, 10))) == "slot_unavailable"
    stranger = clinic.http.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=clinic.client_headers("x"))
    assert stranger.status_code == 404
    cancelled = clinic.http.post(f"/api/bookings/{booking['id']}/cancel", json={"reason": "ill"},
                                 headers=clinic.client_headers(ada["client_id"]))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    [event] = events(clinic, "booking.cancelled")
    assert event["data"]["reason"] == "ill" and event["data"]["status"] == "cancelled"
    assert clinic.book(bob, at(DAY, 10)).status_code == 201
    again = clinic.http.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=clinic.staff)
    assert again.status_code == 409 and error_code(again) == "conflict"
    # A cancelled treatment no longer counts for spacing.
    assert clinic.book(ada, at(date(2026, 11, 17), 10)).status_code == 201


def test_reschedule_applies_the_rules_and_moves_the_booking(clinic):
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    url = f"/api/bookings/{booking['id']}/reschedule"
    headers = clinic.client_headers(ada["client_id"])
    refused = clinic.http.post(url, json={"start": at(date(2026, 11, 15), 10).isoformat()}, headers=headers)
    assert error_code(refused) == "outside_opening_hours"  # a Sunday
    assert error_code(clinic.http.post(url, json={"start": "2026-11-12T10:00:00"}, headers=headers)) == "timezone_required"
    # Its own old time does not count against spacing, nor does it block its own practitioner.
    moved = clinic.http.post(url, json={"start": at(DAY, 10, 15).isoformat()}, headers=headers)
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["start"] == at(DAY, 10, 15).isoformat() and body["end"] == at(DAY, 11, 15).isoformat()
    assert body["id"] == booking["id"] and body["reference"] == booking["reference"]
    [event] = events(clinic, "booking.rescheduled")
    assert event["data"]["previous_start"] == booking["start"] and event["data"]["start"] == body["start"]
    by_staff = clinic.http.post(url, json={"start": at(date(2026, 11, 12), 9).isoformat()}, headers=clinic.staff)
    assert by_staff.status_code == 200
    assert clinic.http.post(url, json={"start": at(DAY, 9).isoformat()}, headers=clinic.client_headers("x")).status_code == 404


def test_complete_is_staff_only_and_final(clinic):
    ada = clinic.screen()
    booking = clinic.book(ada, at(DAY, 10)).get_json()
    url = f"/api/bookings/{booking['id']}/complete"
    assert clinic.http.post(url, headers=clinic.client_headers(ada["client_id"])).status_code == 403
    done = clinic.http.post(url, headers=clinic.staff)
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    [event] = events(clinic, "booking.completed")
    assert event["data"]["completed_at"] == clinic.clock.now.astimezone(LONDON).isoformat()
    for action, body in (("complete", None), ("cancel", {}), ("reschedule", {"start": at(DAY, 12).isoformat()})):
        response = clinic.http.post(f"/api/bookings/{booking['id']}/{action}", json=body, headers=clinic.staff)
        assert response.status_code == 409 and error_code(response) == "conflict", action
    # A completed treatment still counts for spacing.
    assert error_code(clinic.book(ada, at(date(2026, 11, 20), 10))) == "treatment_spacing"
    assert clinic.http.post("/api/bookings/nope/complete", headers=clinic.staff).status_code == 404


# ----- availability --------------------------------------------------------------------------

def test_availability_of_a_day(clinic):
    clinic.book(clinic.screen(), at(DAY, 10))
    body = clinic.http.get("/api/availability?date=2026-11-10&areas=face").get_json()
    assert body["timezone"] == "Europe/London"
    slots = {s["start"]: s["practitioners_free"] for s in body["slots"]}
    assert slots[at(DAY, 8).isoformat()] == 2 and slots[at(DAY, 10).isoformat()] == 1
    assert max(slots) == at(DAY, 16, 30).isoformat()
    assert [s["start"] for s in body["slots"]] == sorted(slots)
    consultation = clinic.http.get("/api/availability?date=2026-11-10&type=consultation").get_json()["slots"]
    assert consultation[-1]["start"] == at(DAY, 17).isoformat() and consultation[-1]["end"] == at(DAY, 17, 30).isoformat()


def test_availability_of_a_range_and_closed_days(clinic):
    sunday = clinic.http.get("/api/availability?date=2026-11-15&areas=neck")
    assert sunday.status_code == 200 and sunday.get_json()["slots"] == []
    week = clinic.http.get("/api/availability?from=2026-11-09&to=2026-11-15&areas=neck").get_json()["slots"]
    days = sorted({s["start"][:10] for s in week})
    assert days == ["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14"]
    for query in ("from=2026-11-01&to=2026-12-15&areas=neck", "areas=neck", "date=2026-11-10",
                  "date=2026-11-10&areas=elbow", "from=2026-11-10&areas=neck", "date=tomorrow&areas=neck"):
        response = clinic.http.get(f"/api/availability?{query}")
        assert response.status_code == 422, query
    too_long = clinic.http.get("/api/availability?date=2026-11-10&areas=face,neck")
    assert error_code(too_long) == "session_too_long"
    # the areas repeated instead of comma-separated: every one counts, none is dropped
    assert error_code(clinic.http.get("/api/availability?date=2026-11-10&areas=face&areas=neck")) == "session_too_long"
    assert clinic.http.get("/api/availability?date=2026-11-10&areas=neck&areas=elbow").status_code == 422
    repeated = clinic.http.get("/api/availability?date=2026-11-10&areas=neck&areas=hands").get_json()["slots"]
    assert repeated == clinic.http.get("/api/availability?date=2026-11-10&areas=neck,hands").get_json()["slots"]


def test_the_longest_block_the_rules_allow_is_still_read(make_clinic):
    """The reads of busy bookings look back LONGEST_BLOCK from a window's start, no further: a booking as long
    as the rules allow (a whole opening day on the autumn DST night: 25 hours less closing's 15 minutes), then
    the longest turnover, began well over a day before the next day's window and still takes its morning."""
    clinic = make_clinic(practitioners=["Solo"], opens=time(0), closes=time(23, 45),
                         open_weekdays=frozenset(range(7)), consultation_minutes=24 * 60 + 45,
                         turnover_minutes=MAX_TURNOVER_MINUTES)
    clinic.clock.now = datetime(2026, 10, 1, 9, tzinfo=LONDON)
    fall_back = date(2026, 10, 25)  # the clocks go back at 02:00: this local day lasts 25 hours
    booked = clinic.book(clinic.screen(), at(fall_back, 0), areas=(), type_="consultation")
    assert booked.status_code == 201, booked.get_json()
    with clinic.sessions() as session:
        row = session.execute(select(bookings).where(bookings.c.id == booked.get_json()["id"])).one()
        # A window that starts in the block's last minute, 36 hours 44 minutes after the booking began.
        busy, _ = repository.busy_and_held(session, row.blocked_until - timedelta(minutes=1), row.blocked_until)
    assert LONGEST_BLOCK - timedelta(minutes=15) <= row.blocked_until - row.start_at < LONGEST_BLOCK
    assert [b.start for b in busy] == [row.start_at]
    # It blocks the next day until 11:45 (23:45 and 12 hours' turnover), 36 hours after it began.
    next_day = clinic.http.get("/api/availability?date=2026-10-26&areas=face").get_json()["slots"]
    assert next_day[0]["start"] == at(date(2026, 10, 26), 11, 45).isoformat()


# ----- closures ------------------------------------------------------------------------------

def test_closures(clinic):
    ada = clinic.screen()
    created = clinic.http.post("/api/closures", json={"date": "2026-11-12", "reason": "Training"}, headers=clinic.staff)
    assert created.status_code == 201 and created.get_json() == {"date": "2026-11-12", "reason": "Training"}
    assert clinic.http.post("/api/closures", json={"date": "2026-11-12", "reason": "x"}, headers=clinic.staff).status_code == 409
    assert clinic.http.post("/api/closures", json={"date": "2026-11-13", "reason": "x"},
                            headers=clinic.client_headers(ada["client_id"])).status_code == 403
    assert clinic.http.get("/api/closures").get_json() == {"closures": [{"date": "2026-11-12", "reason": "Training"}]}
    assert error_code(clinic.book(ada, at(date(2026, 11, 12), 10))) == "clinic_closed"
    assert clinic.http.get("/api/availability?date=2026-11-12&areas=face").get_json()["slots"] == []

    clinic.book(ada, at(date(2026, 11, 13), 10))
    busy_day = clinic.http.post("/api/closures", json={"date": "2026-11-13", "reason": "x"}, headers=clinic.staff)
    assert busy_day.status_code == 409 and busy_day.get_json()["error"]["details"]["confirmed_bookings"] == 1

    assert clinic.http.delete("/api/closures/2026-11-12", headers=clinic.staff).status_code == 204
    assert clinic.http.delete("/api/closures/2026-11-12", headers=clinic.staff).status_code == 404
    assert clinic.http.delete("/api/closures/garbage", headers=clinic.staff).status_code == 404
    assert clinic.http.get("/api/closures").get_json() == {"closures": []}


# ----- courses -------------------------------------------------------------------------------

def test_course_keeps_local_time_across_the_clock_change(clinic):
    clinic.clock.now = datetime(2026, 2, 2, 9, tzinfo=LONDON)
    ada = clinic.screen()
    headers = clinic.client_headers(ada["client_id"])
    body = {"screening_id": ada["screening_id"], "areas": ["face"], "sessions": 3, "interval_weeks": 4,
            "start": at(date(2026, 3, 10), 9).isoformat()}
    response = clinic.http.post("/api/courses", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    course = response.get_json()
    assert [b["start"] for b in course["bookings"]] == [
        "2026-03-10T09:00:00+00:00", "2026-04-07T09:00:00+01:00", "2026-05-05T09:00:00+01:00"]
    assert all(b["course_id"] == course["id"] for b in course["bookings"])
    assert len(events(clinic, "booking.confirmed")) == 3
    assert clinic.http.get(f"/api/courses/{course['id']}", headers=headers).get_json() == course
    assert clinic.http.get(f"/api/courses/{course['id']}", headers=clinic.staff).status_code == 200
    assert clinic.http.get(f"/api/courses/{course['id']}", headers=clinic.client_headers("x")).status_code == 404


def test_course_is_all_or_nothing(clinic):
    ada = clinic.screen()
    clinic.http.post("/api/closures", json={"date": "2026-12-08", "reason": "Holiday"}, headers=clinic.staff)
    body = {"screening_id": ada["screening_id"], "areas": ["neck"], "sessions": 4, "interval_weeks": 4,
            "start": at(DAY, 9).isoformat()}
    response = clinic.http.post("/api/courses", json=body, headers=clinic.client_headers(ada["client_id"]))
    assert response.status_code == 422 and error_code(response) == "clinic_closed"
    details = response.get_json()["error"]["details"]
    assert details["session"] == 2 and details["start"] == at(date(2026, 12, 8), 9).isoformat()
    with clinic.sessions() as session:
        assert session.execute(select(bookings.c.id)).all() == []
    assert [e["type"] for e in events(clinic)] == ["audit.recorded"]  # the closure staff made; no booking event
    assert events(clinic)[0]["data"]["action"] == "closure.created"


def test_course_shape_and_slot_failures(make_clinic):
    clinic = make_clinic(practitioners=["Solo"])
    ada, bob = clinic.screen(), clinic.screen()
    headers = clinic.client_headers(ada["client_id"])
    body = {"screening_id": ada["screening_id"], "areas": ["neck"], "sessions": 7, "interval_weeks": 3,
            "start": at(DAY, 9).isoformat()}
    shape = clinic.http.post("/api/courses", json=body, headers=headers)
    assert error_code(shape) == "validation_error"
    assert set(shape.get_json()["error"]["details"]["fields"]) == {"sessions", "interval_weeks"}
    clinic.book(bob, at(date(2027, 2, 2), 9))  # takes the only practitioner at session 3's time
    body.update(sessions=3, interval_weeks=6)
    taken = clinic.http.post("/api/courses", json=body, headers=headers)
    assert taken.status_code == 409 and error_code(taken) == "slot_unavailable"
    assert taken.get_json()["error"]["details"]["session"] == 3
    clinic.screen(outcome="consultation_required", client_id="carol", screening_id="s-carol")
    not_eligible = clinic.http.post("/api/courses", json={**body, "screening_id": "s-carol"},
                                    headers=clinic.client_headers("carol"))
    assert error_code(not_eligible) == "screening_not_eligible"
