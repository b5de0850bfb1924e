"""A client's data in the notifications service: its part of the export, and the erasure on
`client.erasure_requested` (fed through the InboxProcessor as real envelopes), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic_shared.erasure import ERASED_CLIENT_ID

from clinic_shared.auth import TokenAuthority

from notifications import create_app

STAFF = {"Authorization": "Bearer staff-secret-token"}


def token_for(system, client_id):
    settings = system.settings
    authority = TokenAuthority(settings.secret_key, settings.staff_token, settings.client_token_ttl_seconds)
    return {"Authorization": f"Bearer {authority.issue_client_token(client_id)}"}


def erase(system, client_id="c1") -> dict:
    return system.deliver("client.erasure_requested", {"client_id": client_id, "reason": "request",
                                                       "requested_at": "2026-11-20T12:00:00+00:00"})


def everything_stored(system) -> str:
    rows = []
    with system.sessions() as session:
        for table in system.tables.metadata.sorted_tables:
            rows += [dict(row._mapping) for row in session.execute(select(table))]
    return json.dumps(rows, default=str)


def outbox_events(system) -> list[dict]:
    with system.sessions() as session:
        return [json.loads(body) for body in session.scalars(select(system.tables.outbox.c.body))]


@pytest.fixture
def ada(system, clock, booking_data, screening_data):
    """Ada: a treatment booked (its invitation and screening result sent, the rest scheduled), one message
    failed; Bob, another client, booked too."""
    system.deliver("booking.confirmed", booking_data(booking_id="b1", client_id="c1"))
    system.deliver("screening.completed", screening_data("not_suitable"))
    system.deliver("booking.confirmed", booking_data(booking_id="b2", client_id="c2", email="bob@example.org",
                                                     name="Bob Builder"))
    system.dispatcher.dispatch_due()
    with system.sessions() as session, session.begin():
        n = system.tables.notifications
        session.execute(n.update().where(n.c.booking_id == "b1", n.c.kind == "aftercare").values(status="failed"))
    return create_app(system.settings, clock=system.clock).test_client()


def test_an_admin_or_the_client_exports_every_message_with_its_body(ada, system):
    for headers in (STAFF, token_for(system, "c1")):
        export = ada.get("/internal/clients/c1/export", headers=headers)
        assert export.status_code == 200, export.json
        kinds = sorted(m["kind"] for m in export.json["notifications"])
        assert kinds == sorted(["pre_treatment", "appointment_reminder", "aftercare", "aftercare_check_in",
                                "next_session_reminder", "screening_result"])
        assert all(m["to"] == "ada@example.org" and m["body"] for m in export.json["notifications"])
    assert ada.get("/internal/clients/c1/export", headers=token_for(system, "c2")).status_code == 404


def test_erasure_cancels_every_unsent_message_and_keeps_none_of_its_contents(ada, system, clock):
    erase(system)
    ada_rows = [r for r in system.messages() if r.to_name != "Bob Builder"]
    assert len(ada_rows) == 6
    assert {r.kind: r.status for r in ada_rows} == {
        "pre_treatment": "sent", "screening_result": "sent", "appointment_reminder": "cancelled",
        "aftercare": "cancelled", "aftercare_check_in": "cancelled", "next_session_reminder": "cancelled"}
    for row in ada_rows:
        assert (row.client_id, row.to_address, row.to_name, row.body_text, row.calendar) == (
            ERASED_CLIENT_ID, "", "", "", None)
        assert row.subject  # what was sent, for the clinic's records: no one's name in it
    stored = everything_stored(system)
    assert "ada@example.org" not in stored and "Ada Lovelace" not in stored
    assert "bob@example.org" in stored  # someone else's messages are theirs
    report = [e for e in outbox_events(system) if e["type"] == "client.erased"]
    assert [e["data"]["client_id"] for e in report] == ["c1"] and report[0]["data"]["service"] == "notifications"
    clock.advance(timedelta(days=60))
    sent = system.dispatcher.dispatch_due()
    assert sent == 4  # Bob's reminder, aftercare, check-in and next-session reminder; none of Ada's
    assert {r.status for r in system.messages() if r.client_id == ERASED_CLIENT_ID} == {"sent", "cancelled"}


def test_no_message_is_ever_made_for_an_erased_client_and_the_event_may_repeat(ada, system, booking_data,
                                                                                screening_data):
    erase(system)
    before = len(system.messages())
    system.deliver("booking.cancelled", booking_data(booking_id="b1", client_id="c1", version=2))
    system.deliver("booking.confirmed", booking_data(booking_id="b3", client_id="c1"))
    system.deliver("screening.cleared", {**screening_data("consultation_required", screening_id="s9"),
                                         "previous_outcome": "consultation_required", "decision": "declined",
                                         "decided_at": "2026-11-20T11:00:00+00:00"})
    assert len(system.messages()) == before
    erase(system)  # again, under another event id
    assert len(system.messages()) == before
    assert ada.get("/api/notifications", headers=token_for(system, "c1")).status_code == 401
    assert ada.get("/internal/clients/c1/export", headers=STAFF).json == {"notifications": []}


def test_a_message_claimed_when_the_erasure_came_is_not_sent(system, clock, booking_data):
    system.deliver("booking.confirmed", booking_data(booking_id="b1", client_id="c1"))
    claimed = system.dispatcher.claim()  # a dispatcher has taken the invitation, address and all...
    assert claimed.kind == "pre_treatment" and claimed.to_address == "ada@example.org"
    erase(system)                        # ...and the erasure commits before it sends
    system.dispatcher._deliver(claimed, system.engine.connect())  # (a connection, as the claim hands its sender)
    assert not (system.settings.outbox_dir / f"{claimed.id}.eml").exists()
    assert {r.id: r.status for r in system.messages()}[claimed.id] == "cancelled"
    system.deliver("booking.confirmed", booking_data(booking_id="b9", client_id="c9"))
    system.dispatcher.dispatch_due()  # the control: a message that is wanted does land in that folder
    assert len(list(system.settings.outbox_dir.glob("*.eml"))) == 1
