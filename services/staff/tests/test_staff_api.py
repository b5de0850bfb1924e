"""The staff endpoints on SQLite and PostgreSQL: sign-in, the lock, sign-out, members, the audit trail."""
from __future__ import annotations

import json

import pytest

from clinic_shared.events import make_envelope
from clinic_shared.inbox import InboxProcessor

from staff.events import HANDLERS
from staff.store.tables import inbox



def error_code(response) -> str:
    return response.get_json()["error"]["code"]


def audit(client, operator, **query) -> list[dict]:
    response = client.get("/api/audit", headers=operator, query_string={"limit": 1000, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["entries"]


def test_the_first_admin_signs_in_and_is_told_who_they_are(client, admin):
    response = client.post("/api/staff/sessions", json={"email": "  Admin@Clinic.TEST", "password": admin["password"]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("stf_") and body["expires_at"]
    assert body["staff"] == {"id": body["staff"]["id"], "name": "Administrator", "email": admin["email"],
                             "role": "admin", "practitioner_id": None}
    me = client.get("/api/staff/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["role"] == "admin" and me.get_json()["active"] is True


def test_the_operator_key_is_the_operator_with_the_admin_role(client, operator):
    assert client.get("/api/staff/me", headers=operator).get_json() == {
        "id": "operator", "name": "operator key", "email": None, "role": "admin", "practitioner_id": None,
        "active": True}


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, admin):
    wrong = client.post("/api/staff/sessions", json={"email": admin["email"], "password": "not the password"})
    unknown = client.post("/api/staff/sessions", json={"email": "nobody@clinic.test", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


@pytest.mark.parametrize("email", ["admin@clinic.test", "nobody@clinic.test"])  # the first admin, and nobody
def test_five_failures_lock_the_email_even_for_the_right_password(client, email, admin):
    for _ in range(5):
        assert client.post("/api/staff/sessions", json={"email": email, "password": "wrong-guess"}).status_code == 401
    locked = client.post("/api/staff/sessions", json={"email": email, "password": admin["password"]})
    assert locked.status_code == 429 and error_code(locked) == "rate_limited"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    other = client.post("/api/staff/sessions", json={"email": "other@clinic.test", "password": "wrong-guess"})
    assert other.status_code == 401  # the lock is for that e-mail only


def test_a_locked_known_and_unknown_email_answer_alike(client, admin):
    answers = []
    for email in (admin["email"], "nobody@clinic.test"):
        for _ in range(5):
            client.post("/api/staff/sessions", json={"email": email, "password": "wrong-guess"})
        locked = client.post("/api/staff/sessions", json={"email": email, "password": "wrong-guess"})
        answers.append((locked.status_code, locked.get_json()["error"]["code"]))
    assert answers[0] == answers[1] == (429, "rate_limited")


def test_signing_out_ends_that_session_only(client, sign_in, admin):
    first, second = sign_in(**admin), sign_in(**admin)
    assert client.delete("/api/staff/sessions/current", headers=first).status_code == 204
    assert client.get("/api/staff/me", headers=first).status_code == 401
    assert client.get("/api/staff/me", headers=second).status_code == 200


def test_a_session_expires(app, client, staff_settings, admin):
    from datetime import datetime, timezone
    from clinic_shared.db import transaction
    from staff.operations import member_of_token, sign_in

    with transaction(app.extensions["staff"].session_factory) as session:
        signed = sign_in(session, staff_settings, admin["email"], admin["password"], datetime(2020, 1, 1, tzinfo=timezone.utc))
    with app.extensions["staff"].session_factory() as session:
        assert member_of_token(session, signed.token, datetime(2020, 1, 1, 11, 59, tzinfo=timezone.utc)) is not None
        assert member_of_token(session, signed.token, datetime(2020, 1, 1, 12, 0, tzinfo=timezone.utc)) is None
    assert client.get("/api/staff/me", headers={"Authorization": f"Bearer {signed.token}"}).status_code == 401


def test_only_admins_manage_members(client, sign_in, add_member, admin):
    add_member("reception", "rita@clinic.test")
    add_member("practitioner", "pat@clinic.test")
    body = {"name": "New", "email": "new@clinic.test", "role": "reception", "password": "a-long-enough-password"}
    for email in ("rita@clinic.test", "pat@clinic.test"):
        headers = sign_in(email, "a-long-enough-password")
        assert client.get("/api/staff/members", headers=headers).status_code == 403
        assert client.post("/api/staff/members", headers=headers, json=body).status_code == 403
        assert client.get("/api/audit", headers=headers).status_code == 403
    admin = sign_in(**admin)
    assert client.post("/api/staff/members", headers=admin, json=body).status_code == 201
    assert client.post("/api/staff/members", json=body).status_code == 401


def test_member_rules(client, operator, add_member):
    short = client.post("/api/staff/members", headers=operator,
                        json={"name": "S", "email": "s@clinic.test", "role": "reception", "password": "short"})
    assert short.status_code == 422 and "password" in short.get_json()["error"]["details"]["fields"]
    bad_role = client.post("/api/staff/members", headers=operator,
                           json={"name": "S", "email": "s@clinic.test", "role": "boss", "password": "x" * 12})
    assert bad_role.status_code == 422
    rita = add_member("reception", "rita@clinic.test")
    unchanged = client.patch(f"/api/staff/members/{rita['id']}", headers=operator, json={})
    assert unchanged.status_code == 200 and unchanged.get_json() == rita  # nothing to change: nothing changes
    twelve = client.post("/api/staff/members", headers=operator,
                         json={"name": "T", "email": "t@clinic.test", "role": "reception", "password": "x" * 12})
    assert twelve.status_code == 201
    again = client.post("/api/staff/members", headers=operator,
                        json={"name": "R", "email": "Rita@Clinic.test", "role": "admin", "password": "x" * 12})
    assert again.status_code == 409 and error_code(again) == "conflict"
    assert client.patch("/api/staff/members/nobody", headers=operator, json={"name": "X"}).status_code == 404
    assert client.patch("/api/staff/members/nobody", headers=operator, json={}).status_code == 404
    blank = client.post("/api/staff/members", headers=operator,
                        json={"name": "  ", "email": "b@clinic.test", "role": "reception", "password": "x" * 12})
    assert blank.status_code == 422 and "name" in blank.get_json()["error"]["details"]["fields"]


def test_made_inactive_or_given_a_new_password_a_member_is_signed_out_everywhere(client, operator, sign_in, add_member):
    rita = add_member("reception", "rita@clinic.test")
    sessions = [sign_in("rita@clinic.test", "a-long-enough-password") for _ in range(2)]
    changed = client.patch(f"/api/staff/members/{rita['id']}", headers=operator, json={"password": "another-long-password"})
    assert changed.status_code == 200
    assert [client.get("/api/staff/me", headers=h).status_code for h in sessions] == [401, 401]
    fresh = sign_in("rita@clinic.test", "another-long-password")
    assert client.patch(f"/api/staff/members/{rita['id']}", headers=operator, json={"active": False}).status_code == 200
    assert client.get("/api/staff/me", headers=fresh).status_code == 401
    refused = client.post("/api/staff/sessions", json={"email": "rita@clinic.test", "password": "another-long-password"})
    assert refused.status_code == 401  # inactive: like a wrong password
    reactivated = client.patch(f"/api/staff/members/{rita['id']}", headers=operator, json={"active": True, "role": "admin"})
    assert reactivated.get_json()["active"] is True and reactivated.get_json()["role"] == "admin"
    assert sign_in("rita@clinic.test", "another-long-password")


def test_no_response_contains_a_password_or_its_hash(app, client, operator, sign_in, add_member):
    password = "a-very-secret-password"
    member = add_member("practitioner", "pat@clinic.test", password=password)
    headers = sign_in("pat@clinic.test", password)
    with app.extensions["staff"].session_factory() as session:
        from sqlalchemy import select
        from staff.store.tables import members
        stored = session.scalar(select(members.c.password_hash).where(members.c.id == member["id"]))
    answers = [client.get("/api/staff/members", headers=operator), client.get("/api/staff/me", headers=headers),
               client.patch(f"/api/staff/members/{member['id']}", headers=operator, json={"name": "Pat"}),
               client.get("/api/audit", headers=operator),
               client.post("/api/staff/sessions", json={"email": "pat@clinic.test", "password": password})]
    for response in answers:
        text = response.get_data(as_text=True)
        assert password not in text and stored not in text and "argon2" not in text and "password_hash" not in text


def test_the_trail_records_sign_ins_and_member_changes(client, operator, sign_in, add_member):
    rita = add_member("reception", "rita@clinic.test")
    client.post("/api/staff/sessions", json={"email": "rita@clinic.test", "password": "wrong-password"},
                headers={"X-Request-ID": "req-failed-1"})
    sign_in("rita@clinic.test", "a-long-enough-password")
    client.patch(f"/api/staff/members/{rita['id']}", headers=operator, json={"name": "Rita R"})
    entries = audit(client, operator, resource_id=rita["id"])
    assert [e["action"] for e in entries] == ["staff.member_changed", "staff.signed_in", "staff.sign_in_failed",
                                              "staff.member_created"]  # newest first
    assert entries[0]["actor"] == {"id": "operator", "name": "operator key", "role": "admin"}
    assert entries[1]["actor"] == {"id": rita["id"], "name": "Reception Person", "role": "reception"}
    assert entries[2]["request_id"] == "req-failed-1"
    assert all(e["resource"] == {"type": "staff_member", "id": rita["id"]} for e in entries)
    unknown = client.post("/api/staff/sessions", json={"email": "ghost@clinic.test", "password": "wrong-password"})
    assert unknown.status_code == 401
    failed = audit(client, operator, action="staff.sign_in_failed")
    assert failed[0]["actor"] == {"id": None, "name": "unknown e-mail", "role": None}
    assert audit(client, operator, actor=rita["id"])[0]["action"] == "staff.signed_in"


def test_audit_events_from_other_services_are_kept_once(app, client, operator):
    envelope = make_envelope("audit.recorded", {
        "actor": {"id": "m-1", "name": "Pat", "role": "practitioner"}, "action": "screening.answers_read",
        "resource": {"type": "screening", "id": "s-1"}, "at": "2026-12-01T10:00:00+00:00"},
        producer="screening", correlation_id="req-42")
    processor = InboxProcessor(app.extensions["staff"].session_factory, inbox, HANDLERS)
    assert processor.process(json.loads(json.dumps(envelope))) is True
    assert processor.process(envelope) is False  # redelivered: nothing twice
    entries = audit(client, operator, resource_id="s-1")
    assert entries == [{"id": envelope["event_id"], "at": "2026-12-01T10:00:00+00:00",
                        "actor": {"id": "m-1", "name": "Pat", "role": "practitioner"},
                        "action": "screening.answers_read", "resource": {"type": "screening", "id": "s-1"},
                        "request_id": "req-42"}]


def test_audit_pages_never_repeat_or_skip(client, operator, app):
    processor = InboxProcessor(app.extensions["staff"].session_factory, inbox, HANDLERS)
    for i in range(7):  # two share each timestamp: the cursor must tell them apart
        processor.process(make_envelope("audit.recorded", {
            "actor": {"id": "m-1", "name": "Pat", "role": "admin"}, "action": "closure.created",
            "resource": {"type": "closure", "id": f"2026-12-0{i + 1}"}, "at": f"2026-12-01T10:0{i // 2}:00+00:00"},
            producer="booking"))
    seen, cursor = [], None
    while True:
        query = {"limit": 3, "action": "closure.created", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/audit", headers=operator, query_string=query).get_json()
        seen.extend(e["resource"]["id"] for e in page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"2026-12-0{i + 1}" for i in range(7)] and len(seen) == 7
    window = audit(client, operator, **{"from": "2026-12-01T10:01:00+00:00", "to": "2026-12-01T10:02:00+00:00"})
    assert sorted(e["resource"]["id"] for e in window) == ["2026-12-03", "2026-12-04"]
    bad = client.get("/api/audit", headers=operator, query_string={"cursor": "nonsense"})
    assert bad.status_code == 422
    far = client.get("/api/audit", headers=operator, query_string={"cursor": "0-0"})  # before everything
    assert far.status_code == 200 and far.get_json() == {"entries": [], "next_cursor": None}
    huge = client.get("/api/audit", headers=operator,
                      query_string={"cursor": "9999999999999999-999999999999999", "action": "closure.created"})
    assert huge.status_code == 200 and len(huge.get_json()["entries"]) == 7  # after everything: all of it
    naive = client.get("/api/audit", headers=operator, query_string={"from": "2026-12-01T10:00:00"})
    assert naive.status_code == 422 and error_code(naive) == "timezone_required"


def test_introspection_is_for_services_holding_the_operator_key(client, sign_in, admin, operator_key):
    headers = sign_in(**admin)
    token = headers["Authorization"].split()[1]
    assert client.post("/internal/sessions/introspect", json={"token": token}).status_code == 401
    service = {"Authorization": f"Bearer {operator_key}"}
    answer = client.post("/internal/sessions/introspect", json={"token": token}, headers=service)
    assert answer.status_code == 200 and answer.get_json()["staff"]["role"] == "admin"
    assert "password" not in answer.get_data(as_text=True)
    client.delete("/api/staff/sessions/current", headers=headers)
    assert client.post("/internal/sessions/introspect", json={"token": token}, headers=service).status_code == 404
    assert client.post("/internal/sessions/introspect", json=["x"], headers=service).status_code == 422


def test_first_start_makes_one_admin_and_prints_a_generated_password_once(tmp_path, database_url, operator_key):
    from clinic_shared.migrations import upgrade
    from staff.first_admin import make_first_admin
    from staff.settings import load_staff_settings

    upgrade("staff", database_url)
    settings = load_staff_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_STAFF_DATABASE_URL": database_url,
                                    "CLINIC_STAFF_TOKEN": operator_key, "CLINIC_SECRET_KEY": "s"})
    said = []
    make_first_admin(settings, say=lambda text, **_: said.append(text))
    make_first_admin(settings, say=lambda text, **_: said.append(text))
    password = (tmp_path / "admin-password").read_text().strip()
    assert len(said) == 1 and password in said[0] and "admin@clinic.test" in said[0]
    from staff import create_app
    app = create_app(settings)
    try:
        client = app.test_client()
        assert client.post("/api/staff/sessions", json={"email": "admin@clinic.test", "password": password}).status_code == 201
        members = client.get("/api/staff/members", headers={"Authorization": f"Bearer {operator_key}"}).get_json()["members"]
        assert [m["role"] for m in members] == ["admin"]
    finally:
        app.extensions["staff"].engine.dispose()
