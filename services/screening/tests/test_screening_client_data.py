"""A client's data in the screening service: the erasure record it owns, its part of the export, the
reports of the other services, booking activity and the daily retention job (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from clinic_shared.events import make_envelope
from clinic_shared.inbox import InboxProcessor

from screening.client_data import RetentionJob
from screening.domain.retention import FOLLOW_UP_MESSAGES, booking_activity, erasure_progress, is_due
from screening.events import HANDLERS
from screening.store.tables import client_activity, daily_jobs, inbox, outbox, screenings


def events(app) -> list[dict]:
    with app.extensions["screening"].session_factory() as session:
        return [json.loads(body) for body in session.scalars(select(outbox.c.body).order_by(outbox.c.id))]


def rows(app, table) -> list:
    with app.extensions["screening"].session_factory() as session:
        return session.execute(select(table)).all()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def screened(client, make_body):
    """A client with two screenings (the second added with their token)."""
    first = client.post("/api/screenings", json=make_body()).json
    second = client.post("/api/screenings", json=make_body(eczema=True), headers=bearer(first["access_token"])).json
    return first, second


def report(app, client_id: str, service: str) -> bool:
    envelope = make_envelope("client.erased", {"client_id": client_id, "service": service,
                                               "erased_at": "2026-01-01T00:00:00+00:00"}, producer=service)
    return InboxProcessor(app.extensions["screening"].session_factory, inbox, HANDLERS).process(envelope)


# --- erasure ---------------------------------------------------------------------------------------------

def test_an_admin_erases_a_client_here_at_once_and_asks_every_other_service(client, app, staff, screened):
    first, second = screened
    client_id = first["client_id"]
    response = client.post(f"/api/clients/{client_id}/erasure", headers=staff)
    assert response.status_code == 202, response.json
    assert response.json["status"] == "in_progress" and response.json["reason"] == "request"
    assert response.json["services"] == {"screening": "done", "booking": "pending", "notifications": "pending"}
    assert client.get(f"/api/clients/{client_id}/erasure", headers=staff).json == response.json
    assert rows(app, screenings) == [] and rows(app, client_activity) == []
    for screening in (first, second):  # gone for staff; the client's tokens no longer work at all
        assert client.get(f"/api/screenings/{screening['id']}", headers=staff).status_code == 404
        assert client.get(f"/api/screenings/{screening['id']}",
                          headers=bearer(screening["access_token"])).status_code == 401
    assert client.post("/api/screenings", json={}, headers=bearer(first["access_token"])).status_code == 401
    kinds = [(e["type"], e["data"].get("action")) for e in events(app)]
    assert ("screening.completed", None) not in kinds  # the events that carried their contact are gone too
    assert kinds == [("client.erasure_requested", None), ("audit.recorded", "client.erasure_requested")]
    requested = events(app)[0]["data"]
    assert requested == {"client_id": client_id, "reason": "request", "requested_at": requested["requested_at"]}


def test_asking_again_answers_the_same_erasure_and_starts_nothing_new(client, app, staff, screened):
    client_id = screened[0]["client_id"]
    first = client.post(f"/api/clients/{client_id}/erasure", headers=staff).json
    again = client.post(f"/api/clients/{client_id}/erasure", headers=staff)
    assert again.status_code == 202 and again.json == first
    assert [e["type"] for e in events(app)].count("client.erasure_requested") == 1


def test_erasure_is_for_admins_and_known_clients(client, staff, screened):
    first, _ = screened
    path = f"/api/clients/{first['client_id']}/erasure"
    assert client.post(path).status_code == 401
    assert client.post(path, headers=bearer(first["access_token"])).status_code == 403  # not even their own
    assert client.post("/api/clients/nobody/erasure", headers=staff).json["error"]["code"] == "not_found"
    assert client.get(path, headers=staff).status_code == 404  # not asked for yet


def test_the_erasure_is_done_once_every_service_has_reported(client, app, staff, screened):
    client_id = screened[0]["client_id"]
    client.post(f"/api/clients/{client_id}/erasure", headers=staff)
    assert report(app, client_id, "booking")
    record = client.get(f"/api/clients/{client_id}/erasure", headers=staff).json
    assert (record["status"], record["services"]["booking"], record["completed_at"]) == ("in_progress", "done", None)
    assert report(app, client_id, "notifications")
    assert report(app, client_id, "notifications")  # the same report again, under another event id: no change
    record = client.get(f"/api/clients/{client_id}/erasure", headers=staff).json
    assert record["status"] == "done" and record["completed_at"] is not None
    assert set(record["services"].values()) == {"done"}


def test_a_report_of_an_erasure_never_asked_for_changes_nothing(app):
    assert report(app, "somebody", "booking")  # handled (acknowledged), and nothing recorded
    with app.extensions["screening"].session_factory() as session:
        assert session.execute(select(screenings)).all() == []


# --- export ----------------------------------------------------------------------------------------------

def test_an_admin_exports_a_client_with_answers_and_it_is_recorded(client, app, staff, screened):
    first, second = screened
    response = client.get(f"/internal/clients/{first['client_id']}/export", headers=staff)
    assert response.status_code == 200, response.json
    assert response.json["client"] == {"id": first["client_id"], "name": "Ada Client", "email": "ada@example.com",
                                       "phone": "+44 20 7946 0000"}
    assert [s["id"] for s in response.json["screenings"]] == [first["id"], second["id"]]
    assert response.json["screenings"][1]["answers"]["eczema"] is True
    audits = [(e["data"]["action"], e["data"]["resource"]["id"]) for e in events(app) if e["type"] == "audit.recorded"]
    assert audits == [("client.exported", first["client_id"]), ("screening.answers_read", first["id"]),
                      ("screening.answers_read", second["id"])]


def test_a_client_exports_their_own_and_nobody_elses(client, app, make_body, screened):
    first, _ = screened
    own = client.get(f"/internal/clients/{first['client_id']}/export", headers=bearer(first["access_token"]))
    assert own.status_code == 200 and len(own.json["screenings"]) == 2
    assert not [e for e in events(app) if e["type"] == "audit.recorded"]  # a client's own reading is not audited
    other = client.post("/api/screenings", json=make_body()).json
    assert client.get(f"/internal/clients/{other['client_id']}/export",
                      headers=bearer(first["access_token"])).status_code == 404
    assert client.get(f"/internal/clients/{first['client_id']}/export").status_code == 401


def test_an_erased_client_has_no_export(client, staff, screened):
    first, _ = screened
    client.post(f"/api/clients/{first['client_id']}/erasure", headers=staff)
    assert client.get(f"/internal/clients/{first['client_id']}/export", headers=staff).status_code == 404
    assert client.get(f"/internal/clients/{first['client_id']}/export",
                      headers=bearer(first["access_token"])).status_code == 401


# --- activity and retention ------------------------------------------------------------------------------

def booking_event(client_id: str, end: str, event_type: str = "booking.confirmed", **extra) -> dict:
    data = {**extra, "booking_id": "b1", "reference": "R1", "type": "treatment", "status": "confirmed", "areas": ["face"],
            "start": "2026-03-01T09:00:00+00:00", "end": end, "timezone": "Europe/London",
            "practitioner": {"id": "p", "name": "P"}, "client_id": client_id,
            "client": {"name": "Ada Client", "email": "ada@example.com"}, "screening_id": "s1", "version": 1}
    return make_envelope(event_type, data, producer="booking")


def activity(app) -> dict:
    return {row.client_id: row.last_active_at for row in rows(app, client_activity)}


def test_a_booking_keeps_its_client_active_until_its_last_message_could_go(client, app, screened):
    client_id = screened[0]["client_id"]
    processor = InboxProcessor(app.extensions["screening"].session_factory, inbox, HANDLERS)
    processor.process(booking_event(client_id, "2030-03-01T10:00:00+00:00"))
    expected = datetime(2030, 3, 1, 10, tzinfo=timezone.utc) + FOLLOW_UP_MESSAGES
    assert activity(app)[client_id] == expected
    processor.process(booking_event(client_id, "2029-01-01T10:00:00+00:00", "booking.rescheduled",
                                    previous_start="2030-03-01T09:00:00+00:00", previous_end="2030-03-01T10:00:00+00:00"))
    assert activity(app)[client_id] == expected  # an earlier time never moves it back


def test_booking_events_of_an_erased_client_bring_no_activity_back(client, app, staff, screened):
    client_id = screened[0]["client_id"]
    client.post(f"/api/clients/{client_id}/erasure", headers=staff)
    InboxProcessor(app.extensions["screening"].session_factory, inbox, HANDLERS).process(
        booking_event(client_id, "2030-03-01T10:00:00+00:00"))
    assert activity(app) == {}


def retention(app, now: datetime, days: float = 2920) -> RetentionJob:
    ctx = app.extensions["screening"]
    return RetentionJob(ctx.session_factory, days, ctx.settings.base.tz, clock=lambda: now)


def test_the_retention_job_erases_clients_inactive_for_the_retention_by_the_same_path(client, app, staff, make_body):
    old = client.post("/api/screenings", json=make_body()).json
    booked = client.post("/api/screenings", json=make_body()).json
    InboxProcessor(app.extensions["screening"].session_factory, inbox, HANDLERS).process(
        booking_event(booked["client_id"], "2040-01-01T10:00:00+00:00"))  # a session far ahead: active till then
    later = datetime.now(timezone.utc) + timedelta(days=2921)
    assert retention(app, later).run_retention() == 1
    record = client.get(f"/api/clients/{old['client_id']}/erasure", headers=staff).json
    assert record["reason"] == "retention" and record["services"]["screening"] == "done"
    assert client.get(f"/api/clients/{booked['client_id']}/erasure", headers=staff).status_code == 404
    assert [s.client_id for s in rows(app, screenings)] == [booked["client_id"]]
    requested = [e["data"] for e in events(app) if e["type"] == "client.erasure_requested"]
    assert requested == [{"client_id": old["client_id"], "reason": "retention",
                          "requested_at": requested[0]["requested_at"]}]


def test_the_retention_job_runs_once_a_day_whatever_the_number_of_workers(client, app, make_body):
    client.post("/api/screenings", json=make_body())
    later = datetime.now(timezone.utc) + timedelta(days=3000)
    assert retention(app, later).run_retention() == 1
    client.post("/api/screenings", json=make_body())  # due too, but today's run has been taken
    assert retention(app, later + timedelta(hours=23)).run_retention() == 0
    with app.extensions["screening"].session_factory() as session:
        assert session.scalar(select(daily_jobs.c.next_run_at)) == later + timedelta(days=1)
    assert retention(app, later + timedelta(days=1)).run_retention() == 1  # the next day's run erases it


def test_a_recent_client_is_kept(client, app, make_body):
    client.post("/api/screenings", json=make_body())
    assert retention(app, datetime.now(timezone.utc) + timedelta(days=2919)).run_retention() == 0
    assert len(rows(app, screenings)) == 1


# --- the rules -------------------------------------------------------------------------------------------

NOW = datetime(2030, 6, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("last, due", [(NOW - timedelta(days=2920, seconds=1), True),
                                       (NOW - timedelta(days=2920), False), (NOW, False)])
def test_is_due(last, due):
    assert is_due(last, NOW, 2920) is due


def test_booking_activity_is_the_later_of_the_change_and_the_last_message():
    assert booking_activity(NOW, NOW) == NOW + FOLLOW_UP_MESSAGES
    assert booking_activity(NOW - timedelta(weeks=10), NOW) == NOW  # a change to an old booking


@pytest.mark.parametrize("reported, status", [
    (set(), "in_progress"), ({"screening"}, "in_progress"), ({"screening", "booking"}, "in_progress"),
    ({"screening", "booking", "notifications"}, "done"), ({"screening", "booking", "notifications", "x"}, "done")])
def test_erasure_progress(reported, status):
    found, services = erasure_progress(reported)
    assert found == status
    assert services == {s: ("done" if s in reported else "pending") for s in ("screening", "booking", "notifications")}
