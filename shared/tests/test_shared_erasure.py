"""clinic_shared.erasure and the revocation of an erased client's tokens (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from flask import Flask, abort, g, request
from sqlalchemy import MetaData, event, select

from clinic_shared.auth import TokenAuthority, authorised
from clinic_shared.db import make_engine, make_session_factory, transaction
from clinic_shared.erasure import ErasedClients, erased_clients_table, forget_client_events, is_erased, mark_erased
from clinic_shared.errors import ApiError
from clinic_shared.outbox import add_event, outbox_table
from clinic_shared.web import create_service_app

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def store(database_url):
    metadata = MetaData()
    tables = {"erased": erased_clients_table(metadata), "outbox": outbox_table(metadata)}
    engine = make_engine(database_url)
    metadata.create_all(engine)
    yield make_session_factory(engine), tables
    engine.dispose()


def test_marking_a_client_erased_is_idempotent(store):
    sessions, tables = store
    with transaction(sessions) as session:
        assert not is_erased(session, tables["erased"], "c1")
        assert mark_erased(session, tables["erased"], "c1", AT)
        assert not mark_erased(session, tables["erased"], "c1", AT)  # the event came again
        assert is_erased(session, tables["erased"], "c1") and not is_erased(session, tables["erased"], "c2")


def snapshot(client_id: str) -> dict:
    return {"booking_id": f"b-{client_id}", "reference": "R", "type": "treatment", "status": "confirmed",
            "areas": ["face"], "start": "2026-03-01T09:00:00+00:00", "end": "2026-03-01T10:00:00+00:00",
            "timezone": "Europe/London", "practitioner": {"id": "p", "name": "P"}, "client_id": client_id,
            "client": {"name": f"Name {client_id}", "email": f"{client_id}@example.org"}, "screening_id": "s"}


def test_only_the_events_carrying_the_clients_contact_leave_the_outbox(store):
    sessions, tables = store
    outbox = tables["outbox"]
    with transaction(sessions) as session:
        for client_id in ("c1", "c11", "c2"):  # c11 starts like c1: only the exact id matches
            add_event(session, outbox, "booking.confirmed", snapshot(client_id), producer="booking")
        add_event(session, outbox, "audit.recorded", {"actor": {"id": "a", "name": "A", "role": "admin"},
                                                      "action": "client.exported",
                                                      "resource": {"type": "client", "id": "c1"}, "at": AT.isoformat()},
                  producer="screening")
        add_event(session, outbox, "client.erasure_requested",
                  {"client_id": "c1", "reason": "request", "requested_at": AT.isoformat()}, producer="screening")
        assert forget_client_events(session, outbox, "c1") == 1
    with sessions() as session:
        left = [json.loads(body) for body in session.scalars(select(outbox.c.body))]
    assert sorted((e["type"], e["data"].get("client_id")) for e in left) == [
        ("audit.recorded", None), ("booking.confirmed", "c11"), ("booking.confirmed", "c2"),
        ("client.erasure_requested", "c1")]


def test_an_erased_clients_token_is_refused_with_401_and_others_still_work(store):
    sessions, tables = store
    now = [0.0]
    revoked = ErasedClients(sessions, tables["erased"], recheck_seconds=1.0, clock=lambda: now[0])
    authority = TokenAuthority("secret", "staff-token", 3600, revoked=revoked)
    erased, kept = authority.issue_client_token("c1"), authority.issue_client_token("c2")
    assert authority.principal_for(erased).client_id == "c1"
    with transaction(sessions) as session:
        mark_erased(session, tables["erased"], "c1", AT)
    assert authority.principal_for(erased).client_id == "c1"  # "not erased" is kept for up to a second
    now[0] = 1.0
    assert authority.principal_for(erased) is None
    assert authority.principal_for(kept).client_id == "c2"
    assert authority.principal_for("staff-token").is_staff
    app = Flask(__name__)
    with app.test_request_context(headers={"Authorization": f"Bearer {erased}"}):
        from flask import request
        with pytest.raises(ApiError) as refused:
            authority.require_principal(request)
    assert refused.value.status == 401


@pytest.mark.parametrize("token, client_id, expected", [
    ("own", "c1", "client"), ("own", "c2", 404), ("staff", "c2", "staff"), (None, "c1", 401)])
def test_own_or_staff(token, client_id, expected):
    authority = TokenAuthority("secret", "staff-token", 3600)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + ("staff-token" if token == "staff" else authority.issue_client_token("c1"))
    app = Flask(__name__)
    with app.test_request_context(headers=headers):
        from flask import request
        if isinstance(expected, int):
            with pytest.raises(ApiError) as refused:
                authority.require_own_or_staff(request, client_id, "client_data")
            assert refused.value.status == expected
        else:
            assert authority.require_own_or_staff(request, client_id, "client_data").role == expected


def test_an_erased_client_stays_refused_without_asking_the_database_again(store):
    sessions, tables = store
    now = [0.0]
    revoked = ErasedClients(sessions, tables["erased"], recheck_seconds=1.0, clock=lambda: now[0])
    with transaction(sessions) as session:
        mark_erased(session, tables["erased"], "c1", AT)
    assert revoked("c1") and not revoked("c2")
    with transaction(sessions) as session:  # only an erasure is final; the row going is not how one ends
        session.execute(tables["erased"].delete())
    now[0] = 5.0
    assert revoked("c1")  # kept: an erased client never comes back
    assert not revoked("c2")


def test_a_shared_transaction_serves_the_revocation_check_and_the_view(store):
    """authorised(..., shares_transaction=True): the check's read begins the transaction the view's
    `transaction` continues (one connection, one transaction); one the view never continued ends with the
    request; without the flag the check reads in a session of its own."""
    sessions, tables = store
    engine = sessions.kw["bind"]
    authority = TokenAuthority("secret", "staff-token", 3600, revoked=ErasedClients(sessions, tables["erased"]))
    app, _ = create_service_app("test", "test", {})

    def book():
        with transaction(sessions) as session:
            assert not is_erased(session, tables["erased"], g.principal.client_id)
            return {"client": g.principal.client_id}

    app.add_url_rule("/shared", "shared", authorised(lambda: authority.require_client(request), True)(book),
                     methods=["POST"])
    app.add_url_rule("/own", "own", authorised(lambda: authority.require_client(request))(book), methods=["POST"])
    app.add_url_rule("/refused", "refused", authorised(lambda: authority.require_client(request), True)(
        lambda: abort(422)), methods=["POST"])
    taken = []
    event.listen(engine, "checkout", lambda *args: taken.append(1))
    headers = {"Authorization": f"Bearer {authority.issue_client_token('c1')}"}
    http = app.test_client()
    assert http.post("/shared", headers=headers).get_json() == {"client": "c1"} and len(taken) == 1
    assert http.post("/own", headers=headers).status_code == 200 and len(taken) == 3
    assert http.post("/refused", headers=headers).status_code == 422 and engine.pool.checkedout() == 0
    with transaction(sessions) as session:
        mark_erased(session, tables["erased"], "c1", AT)
    assert http.post("/shared", headers=headers).status_code == 401 and engine.pool.checkedout() == 0
