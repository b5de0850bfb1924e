"""GET /api/notifications: who may see what, the contract's shape, health and the OpenAPI document."""
from datetime import timedelta

import pytest

from clinic_shared.auth import TokenAuthority
from clinic_shared.datetimes import to_local_iso
from clinic_shared.testing import free_port

from notifications import create_app
from notifications.delivery import SmtpTransport
from notifications.dispatcher import Dispatcher

STAFF = {"Authorization": "Bearer staff-secret-token"}


@pytest.fixture
def client(system, clock, booking_data, screening_data):
    system.deliver("booking.confirmed", booking_data(booking_id="b1", client_id="c1"))
    system.deliver("booking.confirmed", booking_data(booking_id="b2", client_id="c2", email="bob@example.org"))
    system.deliver("screening.completed", screening_data("not_suitable"))
    system.dispatcher.dispatch_due()  # the invitations and the screening result are sent
    return create_app(system.settings, clock=clock).test_client()


def token_for(system, client_id):
    settings = system.settings
    authority = TokenAuthority(settings.secret_key, settings.staff_token, settings.client_token_ttl_seconds)
    return {"Authorization": f"Bearer {authority.issue_client_token(client_id)}"}


def test_owner_sees_their_bookings_messages_in_the_contracts_shape(client, system, clock):
    response = client.get("/api/notifications?booking_id=b1", headers=token_for(system, "c1"))
    assert response.status_code == 200
    items = response.get_json()["notifications"]
    assert [n["kind"] for n in items] == ["pre_treatment", "appointment_reminder", "aftercare",
                                          "aftercare_check_in", "next_session_reminder"]
    first = items[0]
    assert set(first) == {"id", "booking_id", "kind", "channel", "to", "subject", "send_at", "status", "sent_at",
                          "attempts"}
    assert first["channel"] == "email" and first["to"] == "ada@example.org" and first["booking_id"] == "b1"
    assert first["status"] == "sent" and first["attempts"] == 1
    assert first["sent_at"] == "2026-11-20T10:00:00+00:00"  # London winter time, with its offset
    assert items[1]["status"] == "scheduled" and items[1]["sent_at"] is None
    assert items[1]["send_at"] == "2026-11-30T09:00:00+00:00"


def test_a_client_without_booking_id_gets_their_own(client, system):
    items = client.get("/api/notifications", headers=token_for(system, "c1")).get_json()["notifications"]
    assert {n["booking_id"] for n in items} == {"b1", None}  # their booking and their screening result
    assert "screening_result" in [n["kind"] for n in items]
    assert all(n["to"] == "ada@example.org" for n in items)


@pytest.mark.parametrize("booking_id", ["b2", "no-such-booking"])
def test_another_clients_or_an_unknown_booking_is_an_empty_list(client, system, booking_id):
    # API.md: a filter never answers 404 (the booking may not have reached this service yet).
    response = client.get(f"/api/notifications?booking_id={booking_id}", headers=token_for(system, "c1"))
    assert response.status_code == 200 and response.get_json() == {"notifications": [], "next_cursor": None}


def test_staff_see_everything_and_filter_by_status(client):
    everything = client.get("/api/notifications", headers=STAFF).get_json()["notifications"]
    assert len(everything) == 11
    assert [n["send_at"] for n in everything] == sorted(n["send_at"] for n in everything)
    sent = client.get("/api/notifications?status=sent", headers=STAFF).get_json()["notifications"]
    assert {n["kind"] for n in sent} == {"pre_treatment", "screening_result"} and len(sent) == 3
    of_b2 = client.get("/api/notifications?booking_id=b2&status=scheduled", headers=STAFF).get_json()
    assert len(of_b2["notifications"]) == 4 and {n["to"] for n in of_b2["notifications"]} == {"bob@example.org"}
    nothing = client.get("/api/notifications?booking_id=nope", headers=STAFF)
    assert nothing.status_code == 200 and nothing.get_json() == {"notifications": [], "next_cursor": None}


def test_a_message_being_sent_is_still_shown_as_scheduled(client, system, clock):
    clock.advance(timedelta(days=11))  # the reminders are due
    system.dispatcher.claim()  # one of them is being sent
    items = client.get("/api/notifications?booking_id=b1&status=scheduled", headers=STAFF).get_json()
    assert "appointment_reminder" in [n["kind"] for n in items["notifications"]]
    assert {n["status"] for n in items["notifications"]} == {"scheduled"}


@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer forged"}, 401, "unauthorized"),
    ({"Authorization": "Basic abc"}, 401, "unauthorized"),
])
def test_a_token_is_required(client, headers, status, code):
    response = client.get("/api/notifications", headers=headers)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


def test_an_unknown_status_is_a_validation_error(client):
    response = client.get("/api/notifications?status=lost", headers=STAFF)
    assert response.status_code == 422
    assert "status" in response.get_json()["error"]["details"]["fields"]


def test_no_token_is_401_even_with_a_bad_query(client):
    response = client.get("/api/notifications?status=lost")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_wrong_method_is_in_the_envelope(client):
    response = client.post("/api/notifications", json={}, headers=STAFF)
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"


@pytest.fixture
def failed_message(client, system, clock, booking_data):
    """The id of a message that failed for real: its mail server was unreachable past the give-up time."""
    system.deliver("booking.confirmed", booking_data(booking_id="b3", client_id="c1"))
    unreachable = SmtpTransport(f"smtp://127.0.0.1:{free_port()}", timeout=5)
    Dispatcher(system.sessions, system.repo, unreachable, system.settings.with_overrides(delivery_give_up=timedelta(0)),
               clock).dispatch_due()
    message = system.by_kind("b3")["pre_treatment"]
    assert message.status == "failed"
    return message.id


def test_staff_retry_a_failed_message(client, system, clock, failed_message):
    clock.advance(timedelta(hours=2))
    response = client.post(f"/api/notifications/{failed_message}/retry", headers=STAFF)
    assert response.status_code == 200
    listed = client.get("/api/notifications?booking_id=b3", headers=STAFF).get_json()["notifications"]
    assert response.get_json() == next(n for n in listed if n["id"] == failed_message)  # the list's shape
    assert response.get_json()["status"] == "scheduled"
    assert response.get_json()["send_at"] == to_local_iso(clock.now, system.settings.tz)  # due now
    assert system.dispatcher.dispatch_due() == 1
    retried = system.by_kind("b3")["pre_treatment"]
    assert retried.status == "sent" and retried.attempts == 2
    again = client.post(f"/api/notifications/{failed_message}/retry", headers=STAFF)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"  # sent: nothing to retry
    audits = audit_events(system)  # the one retry that happened is in the audit trail, by who did it
    assert [(a["data"]["action"], a["data"]["resource"]["id"], a["data"]["actor"]["id"]) for a in audits] == [
        ("notification.retried", failed_message, "operator")]
    assert audits[0]["correlation_id"] == response.headers["X-Request-ID"]


def audit_events(system) -> list[dict]:
    import json

    from sqlalchemy import select

    from notifications.store.tables import make_tables

    outbox = make_tables().outbox
    with system.sessions() as session:
        bodies = session.scalars(select(outbox.c.body).where(outbox.c.type == "audit.recorded")).all()
    return [json.loads(body) for body in bodies]


def test_only_a_failed_message_can_be_retried(client, system):
    scheduled = system.by_kind("b1")["appointment_reminder"]
    response = client.post(f"/api/notifications/{scheduled.id}/retry", headers=STAFF)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    assert system.by_kind("b1")["appointment_reminder"].status == "scheduled"
    unknown = client.post("/api/notifications/no-such-message/retry", headers=STAFF)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"


def test_retry_is_for_staff_only(client, system, failed_message):
    as_client = client.post(f"/api/notifications/{failed_message}/retry", headers=token_for(system, "c1"))
    assert as_client.status_code == 403 and as_client.get_json()["error"]["code"] == "forbidden"
    anonymous = client.post(f"/api/notifications/{failed_message}/retry")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    assert system.by_kind("b3")["pre_treatment"].status == "failed"


def test_health_and_openapi(client):
    from clinic_shared.heartbeat import Heartbeat
    from notifications.store.tables import make_tables

    health = client.get("/health")
    assert health.status_code == 503 and health.get_json()["checks"]["worker"] == "down"  # no worker yet
    Heartbeat(client.application.extensions["notifications"].session_factory, make_tables().heartbeat).beat()
    health = client.get("/health")
    assert health.get_json()["checks"]["database"] == "ok"  # the broker is the file transport here
    assert health.status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert "/api/notifications" in spec["paths"]
    retry = spec["paths"]["/api/notifications/{notification_id}/retry"]["post"]
    assert set(retry["responses"]) >= {"200", "401", "403", "404", "409"}
    assert "NotificationList" in spec["components"]["schemas"]
