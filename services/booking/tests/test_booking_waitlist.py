"""The waitlist of API.md on a real database (SQLite and PostgreSQL): joining, reading and leaving it, and
freed time offered, held, booked and expired. The service's own events reach it as the worker's queue would
bring them (`Clinic.deliver_own_events`); the expiry job is the worker's own function."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.store.tables import outbox
from booking.worker import worker_parts

LONDON = ZoneInfo("Europe/London")
DAY = date(2026, 11, 10)  # a Tuesday, a week after the tests' "now"


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=LONDON)


def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def events(clinic, event_type: str) -> list[dict]:
    with clinic.sessions() as session:
        rows = session.execute(select(outbox.c.body).where(outbox.c.type == event_type).order_by(outbox.c.id)).all()
    return [json.loads(r.body) for r in rows]


def join(clinic, screening: dict, day: date = DAY, **kwargs):
    return clinic.join_waitlist(screening, day, **kwargs)


def joined(clinic, screening: dict, **kwargs) -> dict:
    response = join(clinic, screening, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def entry(clinic, entry_id: str, headers=None) -> dict:
    response = clinic.http.get(f"/api/waitlist/{entry_id}", headers=headers or clinic.staff)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def fill_day(clinic, day: date = DAY) -> tuple[dict, list[dict]]:
    return clinic.fill_day(day)


def cancel(clinic, booking: dict, headers=None):
    response = clinic.http.post(f"/api/bookings/{booking['id']}/cancel", json={},
                                headers=headers or clinic.client_headers(booking["client_id"]))
    assert response.status_code == 200, response.get_json()
    clinic.deliver_own_events()


def two_waiting(clinic) -> tuple[list[dict], dict, dict, dict]:
    """A full day with two clients waiting for it, the first a second earlier: (the day's bookings, the first
    client's screening, the first entry, the second entry)."""
    _, booked = fill_day(clinic)
    ada, bob = clinic.screen(), clinic.screen()
    first = joined(clinic, ada)
    clinic.clock.now += timedelta(seconds=1)
    second = joined(clinic, bob)
    return booked, ada, first, second


@pytest.fixture
def solo(make_clinic):
    return make_clinic(practitioners=["Solo"])


# ----- joining -----------------------------------------------------------------------------------

def test_joining_answers_the_entry_api_md_describes(clinic):
    ada = clinic.screen()
    response = join(clinic, ada, areas=["neck", "hands"])
    assert response.status_code == 201
    body = response.get_json()
    assert {k: body[k] for k in ("status", "type", "areas", "date", "offer")} == {
        "status": "waiting", "type": "treatment", "areas": ["neck", "hands"], "date": "2026-11-10", "offer": None}
    assert datetime.fromisoformat(body["created_at"]) == clinic.clock.now
    assert body["client_id"] == ada["client_id"] and body["screening_id"] == ada["screening_id"]
    assert entry(clinic, body["id"], clinic.client_headers(ada["client_id"])) == body
    consultation = join(clinic, clinic.screen(outcome="not_suitable"), type_="consultation", areas=())
    assert consultation.status_code == 201 and consultation.get_json()["areas"] == []


@pytest.mark.parametrize("case, code, status", [
    ("too_long", "session_too_long", 422),
    ("unknown_area", "validation_error", 422),
    ("no_areas", "validation_error", 422),
    ("not_eligible", "screening_not_eligible", 422),
    ("expired", "screening_expired", 422),
    ("sunday", "outside_opening_hours", 422),
    ("closure", "clinic_closed", 422),
    ("past", "too_soon", 422),
    ("beyond_horizon", "too_far_ahead", 422),
    ("spacing", "treatment_spacing", 422),
    ("no_date", "validation_error", 422),
    ("bad_date", "validation_error", 422),
    ("someone_elses_screening", "not_found", 404),
])
def test_joining_is_checked_as_a_booking_without_a_slot(clinic, case, code, status):
    ada = clinic.screen()
    headers = clinic.client_headers(ada["client_id"])
    body = {"screening_id": ada["screening_id"], "areas": ["neck"], "date": DAY.isoformat()}
    if case == "too_long":
        body["areas"] = ["face", "neck"]
    elif case == "unknown_area":
        body["areas"] = ["elbow"]
    elif case == "no_areas":
        body["areas"] = []
    elif case == "not_eligible":
        body["screening_id"] = clinic.screen(client_id=ada["client_id"], outcome="consultation_required")["screening_id"]
    elif case == "expired":
        clinic.clock.now += timedelta(days=91)
        body["date"] = (DAY + timedelta(days=91)).isoformat()
    elif case == "sunday":
        body["date"] = "2026-11-08"
    elif case == "closure":
        assert clinic.http.post("/api/closures", json={"date": DAY.isoformat(), "reason": "Training"},
                                headers=clinic.staff).status_code == 201
    elif case == "past":
        body["date"] = "2026-11-01"
    elif case == "beyond_horizon":
        body["date"] = "2027-11-10"
    elif case == "spacing":
        assert clinic.book(ada, at(DAY + timedelta(days=7), 10), areas=["neck"]).status_code == 201
    elif case == "no_date":
        del body["date"]
    elif case == "bad_date":
        body["date"] = "10/11/2026"
    elif case == "someone_elses_screening":
        headers = clinic.client_headers("somebody-else")
    response = clinic.http.post("/api/waitlist", json=body, headers=headers)
    assert (response.status_code, error_code(response)) == (status, code), response.get_json()
    assert clinic.http.get("/api/waitlist", headers=clinic.staff).get_json()["waitlist"] == []


def test_a_screening_not_heard_of_yet_is_screening_pending(make_clinic):
    clinic = make_clinic(screening_wait_seconds=0)
    response = join(clinic, {"screening_id": "not-yet", "client_id": "c-1"})
    assert (response.status_code, error_code(response)) == (409, "screening_pending")
    assert response.headers["Retry-After"] == "2"


def test_only_a_client_may_join_and_only_with_a_token(clinic):
    ada = clinic.screen()
    assert error_code(join(clinic, ada, headers=clinic.staff)) == "forbidden"
    assert error_code(join(clinic, ada, headers={"Authorization": "Bearer nonsense"})) == "unauthorized"
    assert clinic.http.post("/api/waitlist", json={}).status_code == 401


def test_a_second_waiting_entry_for_one_date_is_a_conflict(clinic):
    ada = clinic.screen()
    first = joined(clinic, ada)
    second = join(clinic, clinic.screen(client_id=ada["client_id"]), type_="consultation", areas=())
    assert (second.status_code, error_code(second)) == (409, "conflict")
    assert second.get_json()["error"]["details"]["entry_id"] == first["id"]
    assert join(clinic, ada, day=DAY + timedelta(days=1)).status_code == 201  # another date is another entry
    assert join(clinic, clinic.screen()).status_code == 201  # another client on the same date
    assert clinic.http.delete(f"/api/waitlist/{first['id']}", headers=clinic.client_headers(ada["client_id"])
                              ).status_code == 204
    assert join(clinic, ada).status_code == 201  # after leaving, the client may wait again


# ----- reading and leaving -----------------------------------------------------------------------

def test_clients_see_their_own_entries_and_staff_see_all(clinic):
    ada, bob = clinic.screen(), clinic.screen()
    ada_later = joined(clinic, ada, day=DAY + timedelta(days=2))
    clinic.clock.now += timedelta(seconds=1)
    ada_first = joined(clinic, ada)
    clinic.clock.now += timedelta(seconds=1)
    bob_first = joined(clinic, bob)
    ada_headers = clinic.client_headers(ada["client_id"])
    own = clinic.http.get("/api/waitlist", headers=ada_headers).get_json()
    assert [e["id"] for e in own["waitlist"]] == [ada_later["id"], ada_first["id"]]  # in the order they joined
    assert own["next_cursor"] is None
    everyone = clinic.http.get("/api/waitlist", headers=clinic.staff).get_json()["waitlist"]
    assert [e["id"] for e in everyone] == [ada_later["id"], ada_first["id"], bob_first["id"]]
    pages, cursor = [], None
    while True:  # one at a time: every entry once, in the list's order
        query = "/api/waitlist?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = clinic.http.get(query, headers=clinic.staff).get_json()
        pages += [e["id"] for e in page["waitlist"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert pages == [e["id"] for e in everyone]
    assert clinic.http.get("/api/waitlist?limit=0", headers=clinic.staff).status_code == 422
    assert clinic.http.get("/api/waitlist?cursor=nonsense", headers=clinic.staff).status_code == 422
    one_day = clinic.http.get(f"/api/waitlist?date={DAY}", headers=clinic.staff).get_json()["waitlist"]
    assert [e["id"] for e in one_day] == [ada_first["id"], bob_first["id"]]
    assert clinic.http.get("/api/waitlist?date=soon", headers=clinic.staff).status_code == 422
    assert clinic.http.get("/api/waitlist").status_code == 401
    bob_headers = clinic.client_headers(bob["client_id"])
    assert clinic.http.get(f"/api/waitlist/{ada_first['id']}", headers=bob_headers).status_code == 404
    assert clinic.http.delete(f"/api/waitlist/{ada_first['id']}", headers=bob_headers).status_code == 404
    assert clinic.http.get("/api/waitlist/no-such-entry", headers=clinic.staff).status_code == 404
    assert clinic.http.delete(f"/api/waitlist/{ada_first['id']}", headers=ada_headers).status_code == 204
    assert clinic.http.get(f"/api/waitlist/{ada_first['id']}", headers=ada_headers).status_code == 404
    assert clinic.http.delete(f"/api/waitlist/{ada_first['id']}", headers=ada_headers).status_code == 404


def test_staff_removing_an_entry_is_audited_and_a_clients_own_removal_is_not(clinic):
    ada, bob = clinic.screen(), clinic.screen()
    by_client, by_staff = joined(clinic, ada), joined(clinic, bob)
    assert clinic.http.delete(f"/api/waitlist/{by_client['id']}",
                              headers=clinic.client_headers(ada["client_id"])).status_code == 204
    assert clinic.http.delete(f"/api/waitlist/{by_staff['id']}", headers=clinic.staff).status_code == 204
    audits = [e["data"] for e in events(clinic, "audit.recorded")]
    assert audits == [{"actor": {"id": "operator", "name": "operator key", "role": "admin"},
                       "action": "waitlist.deleted", "resource": {"type": "waitlist_entry", "id": by_staff["id"]},
                       "at": audits[0]["at"]}]


def test_the_document_gives_the_statuses_and_types(clinic):
    document = clinic.http.get("/openapi.json").get_json()
    assert {"/api/waitlist", "/api/waitlist/{entry_id}"} <= set(document["paths"])
    entry_schema = document["components"]["schemas"]["WaitlistEntry"]["properties"]
    assert entry_schema["status"]["enum"] == ["waiting", "offered", "booked", "expired"]
    assert entry_schema["type"]["enum"] == ["treatment", "consultation"]


# ----- offers ------------------------------------------------------------------------------------

def test_a_cancellation_offers_the_freed_time_to_the_oldest_entry_that_fits(solo):
    clinic = solo
    filler, booked = fill_day(clinic)
    face, neck, hands = clinic.screen(name="Fay Face"), clinic.screen(name="Ned Neck"), clinic.screen()
    too_long = joined(clinic, face, areas=["face"])  # oldest, but 60 minutes do not fit a 45-minute gap
    clinic.clock.now += timedelta(seconds=1)
    first = joined(clinic, neck, areas=["neck"])
    clinic.clock.now += timedelta(seconds=1)
    second = joined(clinic, hands, areas=["hands"])
    freed = booked[4]  # 11:00-11:30, with its turnover until 11:45
    cancel(clinic, freed, headers=clinic.staff)

    offered = entry(clinic, first["id"])
    assert offered["status"] == "offered"
    assert offered["offer"] == {"start": at(DAY, 11).isoformat(), "end": at(DAY, 11, 30).isoformat(),
                                "expires_at": (clinic.clock.now + timedelta(minutes=30)).astimezone(LONDON).isoformat()}
    assert entry(clinic, too_long["id"])["status"] == "waiting"
    assert entry(clinic, second["id"])["status"] == "waiting"
    announced = events(clinic, "waitlist.offered")
    assert len(announced) == 1
    data = announced[0]["data"]
    assert (data["entry_id"], data["client"]["name"], data["client"]["email"]) == (
        first["id"], "Ned Neck", neck["client"]["email"])
    assert (data["start"], data["end"], data["hold_minutes"], data["date"]) == (
        offered["offer"]["start"], offered["offer"]["end"], 30, "2026-11-10")

    # Held: nobody else sees it or gets it; the client it is held for books it as usual.
    assert clinic.http.get(f"/api/availability?date={DAY}&areas=neck").get_json()["slots"] == []
    taken = clinic.book(hands, at(DAY, 11), areas=["hands"])
    assert (taken.status_code, error_code(taken)) == (409, "slot_unavailable")
    response = clinic.book(neck, at(DAY, 11), areas=["neck"])
    assert response.status_code == 201, response.get_json()
    done = entry(clinic, first["id"])
    assert (done["status"], done["booking_id"]) == ("booked", response.get_json()["id"])
    assert entry(clinic, second["id"])["status"] == "waiting"


def test_held_time_is_refused_on_every_booking_path(solo):
    clinic = solo
    _, booked = fill_day(clinic)
    waiting = clinic.screen()
    first = joined(clinic, waiting, areas=["neck"])
    cancel(clinic, booked[0])  # 08:00
    assert entry(clinic, first["id"])["status"] == "offered"
    other = clinic.screen()
    course = clinic.http.post("/api/courses", json={
        "screening_id": other["screening_id"], "areas": ["neck"], "sessions": 3, "interval_weeks": 4,
        "start": at(DAY, 8).isoformat()}, headers=clinic.client_headers(other["client_id"]))
    assert (course.status_code, error_code(course)) == (409, "slot_unavailable")
    assert course.get_json()["error"]["details"]["session"] == 1
    elsewhere = clinic.book(other, at(DAY + timedelta(days=2), 9), areas=["neck"]).get_json()
    moved = clinic.http.post(f"/api/bookings/{elsewhere['id']}/reschedule", json={"start": at(DAY, 8).isoformat()},
                             headers=clinic.client_headers(other["client_id"]))
    assert (moved.status_code, error_code(moved)) == (409, "slot_unavailable")
    consultation = clinic.book(other, at(DAY, 8), areas=(), type_="consultation")
    assert (consultation.status_code, error_code(consultation)) == (409, "slot_unavailable")


def test_an_offer_not_taken_expires_and_its_time_goes_to_the_next_entry(solo):
    clinic = solo
    booked, ada, first, second = two_waiting(clinic)
    cancel(clinic, booked[6])  # 12:30
    assert entry(clinic, first["id"])["status"] == "offered"
    assert clinic.offers.release_expired() == 0  # not yet
    clinic.clock.now += timedelta(minutes=30)
    assert clinic.offers.release_expired() == 1
    assert clinic.offers.release_expired() == 0  # a second worker finds nothing left
    gone = entry(clinic, first["id"])
    assert gone["status"] == "expired" and gone["offer"]["start"] == at(DAY, 12, 30).isoformat()
    passed_on = entry(clinic, second["id"])
    assert passed_on["status"] == "offered" and passed_on["offer"]["start"] == at(DAY, 12, 30).isoformat()
    assert len(events(clinic, "waitlist.offered")) == 2
    late = clinic.book(ada, at(DAY, 12, 30), areas=["neck"])
    assert (late.status_code, error_code(late)) == (409, "slot_unavailable")
    assert entry(clinic, first["id"])["status"] == "expired"


def test_an_expired_offer_with_nobody_waiting_frees_the_time_for_everyone(solo):
    clinic = solo
    _, booked = fill_day(clinic)
    ada = clinic.screen()
    first = joined(clinic, ada)
    cancel(clinic, booked[2])  # 09:30
    assert clinic.http.get(f"/api/availability?date={DAY}&areas=neck").get_json()["slots"] == []
    clinic.clock.now += timedelta(minutes=31)
    # Past expires_at the time is free already, before the job has run.
    slots = clinic.http.get(f"/api/availability?date={DAY}&areas=neck").get_json()["slots"]
    assert [s["start"] for s in slots] == [at(DAY, 9, 30).isoformat()]
    assert clinic.offers.release_expired() == 1
    assert entry(clinic, first["id"])["status"] == "expired"
    assert clinic.book(clinic.screen(), at(DAY, 9, 30), areas=["neck"]).status_code == 201


def test_a_reschedule_away_frees_time_too(solo):
    clinic = solo
    filler, booked = fill_day(clinic)
    first = joined(clinic, clinic.screen(), type_="consultation", areas=())
    moved = clinic.http.post(f"/api/bookings/{booked[-1]['id']}/reschedule",
                             json={"start": at(DAY + timedelta(days=1), 9).isoformat()},
                             headers=clinic.client_headers(filler["client_id"]))
    assert moved.status_code == 200
    clinic.deliver_own_events()
    offered = entry(clinic, first["id"])
    assert offered["status"] == "offered" and offered["offer"]["start"] == at(DAY, 17).isoformat()


def test_a_lifted_closure_offers_its_day_to_those_who_waited_for_it(clinic):
    ada, bob = clinic.screen(), clinic.screen()
    first = joined(clinic, ada, areas=["face"])
    second = joined(clinic, bob, areas=["neck"])
    assert clinic.http.post("/api/closures", json={"date": DAY.isoformat(), "reason": "Boiler"},
                            headers=clinic.staff).status_code == 201
    clinic.deliver_own_events()
    assert entry(clinic, first["id"])["status"] == "waiting"
    assert clinic.http.delete(f"/api/closures/{DAY}", headers=clinic.staff).status_code == 204
    assert [e["type"] for e in clinic.deliver_own_events()] == ["closure.deleted"]
    offers = {e["id"]: e["offer"] for e in (entry(clinic, first["id"]), entry(clinic, second["id"]))}
    assert offers[first["id"]]["start"] == at(DAY, 8).isoformat()
    # Two practitioners: the second entry gets the other one at the same time, not the first one's hold.
    assert offers[second["id"]]["start"] == at(DAY, 8).isoformat()
    slots = clinic.http.get(f"/api/availability?date={DAY}&areas=neck").get_json()["slots"]
    # Held: 08:00-09:15 on one practitioner (face and turnover), 08:00-08:45 on the other (neck and turnover).
    assert slots[0] == {"start": at(DAY, 8, 45).isoformat(), "end": at(DAY, 9, 15).isoformat(), "practitioners_free": 1}
    assert slots[2] == {"start": at(DAY, 9, 15).isoformat(), "end": at(DAY, 9, 45).isoformat(), "practitioners_free": 2}


def test_a_repeated_or_replayed_event_offers_nothing_twice(solo):
    clinic = solo
    booked, _, _, second = two_waiting(clinic)
    clinic.http.post(f"/api/bookings/{booked[3]['id']}/cancel", json={}, headers=clinic.staff)
    (cancelled,) = clinic.deliver_own_events()
    assert clinic.processor.process(cancelled) is False  # redelivered: the inbox knows it
    replayed = {**cancelled, "event_id": "republished-under-another-id"}
    assert clinic.processor.process(replayed) is True
    assert entry(clinic, second["id"])["status"] == "waiting"
    assert len(events(clinic, "waitlist.offered")) == 1


def test_removing_an_offered_entry_passes_its_time_to_the_next(solo):
    clinic = solo
    booked, ada, first, second = two_waiting(clinic)
    cancel(clinic, booked[5])
    assert entry(clinic, first["id"])["status"] == "offered"
    assert clinic.http.delete(f"/api/waitlist/{first['id']}",
                              headers=clinic.client_headers(ada["client_id"])).status_code == 204
    assert entry(clinic, second["id"])["status"] == "offered"


def test_a_screening_that_expires_before_the_hold_ends_is_passed_over(solo):
    clinic = solo
    _, booked = fill_day(clinic)
    short = clinic.screen(valid_days=0)  # valid until now: joined at once, expired before any hold ends
    clinic.clock.now -= timedelta(minutes=1)
    assert join(clinic, short).status_code == 201
    clinic.clock.now += timedelta(minutes=1)
    later = joined(clinic, clinic.screen())
    cancel(clinic, booked[1])
    assert entry(clinic, later["id"])["status"] == "offered"


def test_the_worker_runs_the_expiry_job(clinic):
    parts = worker_parts(clinic.settings)
    assert [p.job.__name__ for p in parts.periodic] == ["release_expired"]
    parts.session_factory.kw["bind"].dispose()
