"""Staff accounts, the role matrix and the audit trail, on the running system: through the gateway and
straight to each service (a request that skips the gateway gets no more than one through it)."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
import requests

from test_system_contract import at, book_ok, client, fresh_day
from test_system_slice import until

pytestmark = pytest.mark.system

PASSWORD = "a-long-enough-password"


def sign_in(system, email: str, password: str = PASSWORD) -> str:
    response = system.call("POST", "/api/staff/sessions", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.fixture(scope="module")
def team(system):
    """A signed-in admin, reception and practitioner (linked to the first practitioner)."""
    practitioner_id = system.call("GET", "/api/practitioners").json()["practitioners"][0]["id"]
    tokens = {"admin": sign_in(system, **system.admin)}
    members = {}
    for role in ("reception", "practitioner"):
        email = f"{role}-{uuid.uuid4().hex[:6]}@clinic.test"
        body = {"name": f"{role.title()} One", "email": email, "role": role, "password": PASSWORD,
                **({"practitioner_id": practitioner_id} if role == "practitioner" else {})}
        response = system.call("POST", "/api/staff/members", token=tokens["admin"], json=body)
        assert response.status_code == 201, response.text
        members[role] = response.json()
        tokens[role] = sign_in(system, email)
    system.team_members = members
    return tokens


def needs_consultation(system) -> dict:
    return client(system, answers={"fitzpatrick_type": "VI"})


def direct(system, service: str, method: str, path: str, token: str, **kwargs) -> requests.Response:
    return requests.request(method, system.service_url(service) + path, timeout=15,
                            headers={"Authorization": f"Bearer {token}"}, **kwargs)


# (service, method, path template, body, expected status by role) — API.md's matrix
def matrix_cases(system, day: date, screening_id: str, booking_id: str, client_id: str):
    iso = day.isoformat()
    return [
        ("screening", "GET", f"/api/clients/{client_id}/erasure", None,
         {"admin": 404, "practitioner": 403, "reception": 403}),  # admin: none asked for yet
        ("screening", "POST", f"/api/clients/{client_id}/erasure", None, {"practitioner": 403, "reception": 403}),
        ("booking", "GET", f"/api/bookings?date={iso}", None, {"admin": 200, "practitioner": 200, "reception": 200}),
        ("booking", "GET", f"/api/bookings/{booking_id}", None, {"admin": 200, "practitioner": 200, "reception": 200}),
        ("screening", "GET", "/api/screenings?outcome=consultation_required", None,
         {"admin": 200, "practitioner": 200, "reception": 200}),
        ("screening", "GET", f"/api/screenings/{screening_id}", None,
         {"admin": 200, "practitioner": 200, "reception": 200}),
        ("screening", "POST", f"/api/screenings/{screening_id}/clearance", {"decision": "approved"},
         {"reception": 403}),
        ("notifications", "GET", "/api/notifications?status=failed", None,
         {"admin": 200, "practitioner": 200, "reception": 200}),
        ("staff", "GET", "/api/staff/members", None, {"admin": 200, "practitioner": 403, "reception": 403}),
        ("staff", "GET", "/api/audit", None, {"admin": 200, "practitioner": 403, "reception": 403}),
        ("staff", "GET", "/api/staff/me", None, {"admin": 200, "practitioner": 200, "reception": 200}),
    ]


def test_the_role_matrix_holds_through_the_gateway_and_at_each_service(system, team):
    day = fresh_day(system)
    ada = client(system)
    booking = book_ok(system, ada, at(day, "10:00"))
    pending = needs_consultation(system)
    for service, method, path, body, expected in matrix_cases(system, day, pending["id"], booking["id"],
                                                              ada["client_id"]):
        for role, status in expected.items():
            via_gateway = system.call(method, path, token=team[role], json=body)
            skipping = direct(system, service, method, path, team[role], json=body)
            assert (via_gateway.status_code, skipping.status_code) == (status, status), (role, method, path)
            if status == 403:
                assert via_gateway.json()["error"]["code"] == skipping.json()["error"]["code"] == "forbidden"
    # a client's export: admin only, through the gateway and at each service's own part of it
    for role, status in (("admin", 200), ("practitioner", 403), ("reception", 403)):
        assert system.call("GET", f"/api/clients/{ada['client_id']}/export", token=team[role]).status_code == status
        for service in ("screening", "booking", "notifications"):
            assert direct(system, service, "GET", f"/internal/clients/{ada['client_id']}/export",
                          team[role]).status_code == status, (role, service)
    # reception reads screenings without answers; the others with them
    for role, sees_answers in (("reception", False), ("practitioner", True), ("admin", True)):
        one = system.call("GET", f"/api/screenings/{pending['id']}", token=team[role]).json()
        listed = system.call("GET", "/api/screenings?outcome=consultation_required", token=team[role]).json()
        assert ("answers" in one) is sees_answers, role
        assert all(("answers" in s) is sees_answers for s in listed["screenings"]), role
        assert one["client"]["name"] == "Ada Lovelace"
    # closures: every role; a client token on a staff endpoint: 403
    for offset, role in enumerate(("admin", "practitioner", "reception")):
        closed = (day + timedelta(days=40 + offset)).isoformat()
        if date.fromisoformat(closed).weekday() == 6:
            continue
        added = system.call("POST", "/api/closures", token=team[role], json={"date": closed, "reason": "Training"})
        assert added.status_code == 201, (role, added.text)
        assert direct(system, "booking", "DELETE", f"/api/closures/{closed}", team[role]).status_code == 204
    assert system.call("GET", "/api/staff/members", token=ada["access_token"]).status_code == 403
    assert direct(system, "screening", "GET", "/api/screenings", ada["access_token"]).status_code == 403
    assert direct(system, "booking", "POST", f"/api/bookings/{booking['id']}/complete",
                  ada["access_token"]).status_code == 403


def audit_entries(system, token, **query) -> list[dict]:
    response = system.call("GET", "/api/audit", token=token, params={"limit": 1000, **query})
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_every_staff_action_is_in_the_trail_with_its_request_id_and_no_health_data(system, team):
    practitioner = system.team_members["practitioner"]
    day = fresh_day(system)
    pending = needs_consultation(system)
    ids = {}

    def act(name, method, path, body=None):
        request_id = f"{name}-{uuid.uuid4().hex[:8]}"
        response = system.call(method, path, token=team["practitioner"], json=body,
                               headers={"X-Request-ID": request_id})
        assert response.status_code < 300, (name, response.text)
        ids[name] = request_id
        return response

    act("read", "GET", f"/api/screenings/{pending['id']}")
    act("clear", "POST", f"/api/screenings/{pending['id']}/clearance", {"decision": "approved", "note": "Seen; fine."})
    first, second, third = (book_ok(system, client(system), at(day, hhmm)) for hhmm in ("09:00", "11:00", "14:00"))
    act("cancel", "POST", f"/api/bookings/{first['id']}/cancel", {"reason": "Unwell"})
    act("reschedule", "POST", f"/api/bookings/{second['id']}/reschedule", {"start": at(day, "12:00")})
    act("complete", "POST", f"/api/bookings/{third['id']}/complete")
    closed = fresh_day(system).isoformat()
    act("close", "POST", "/api/closures", {"date": closed, "reason": "Training"})
    act("reopen", "DELETE", f"/api/closures/{closed}")
    # a client's own change is not a staff action
    own = book_ok(system, (ada := client(system)), at(day, "16:00"))
    assert system.call("POST", f"/api/bookings/{own['id']}/cancel", token=ada["access_token"], json={}).status_code == 200

    expected = {"read": ("screening.answers_read", "screening", pending["id"]),
                "clear": ("screening.cleared", "screening", pending["id"]),
                "cancel": ("booking.cancelled", "booking", first["id"]),
                "reschedule": ("booking.rescheduled", "booking", second["id"]),
                "complete": ("booking.completed", "booking", third["id"]),
                "close": ("closure.created", "closure", closed), "reopen": ("closure.deleted", "closure", closed)}
    wanted = set(ids.values())
    entries = until(lambda: [e for e in audit_entries(system, team["admin"], actor=practitioner["id"])
                             if e["request_id"] in wanted],
                    lambda found: len(found) >= len(expected), seconds=30)
    by_request = {e["request_id"]: e for e in entries}
    for name, (action, kind, resource_id) in expected.items():
        entry = by_request[ids[name]]
        assert (entry["action"], entry["resource"]) == (action, {"type": kind, "id": resource_id}), name
        assert entry["actor"] == {"id": practitioner["id"], "name": practitioner["name"], "role": "practitioner"}
    assert len(entries) == len(expected)  # each action once
    text = json.dumps(audit_entries(system, team["admin"]))
    assert "fitzpatrick" not in text and "Seen; fine." not in text and "Unwell" not in text
    assert not audit_entries(system, team["admin"], resource_id=own["id"])  # the client's own cancel


def test_sign_in_lock_sign_out_and_deactivation_reach_every_service(system, team):
    email = f"temp-{uuid.uuid4().hex[:6]}@clinic.test"
    member = system.call("POST", "/api/staff/members", token=team["admin"],
                         json={"name": "Temp", "email": email, "role": "reception", "password": PASSWORD}).json()
    token = sign_in(system, email)
    assert direct(system, "booking", "GET", "/api/bookings?date=2030-01-02", token).status_code == 200
    assert system.call("DELETE", "/api/staff/sessions/current", token=token).status_code == 204
    for service, path in (("booking", "/api/bookings?date=2030-01-02"), ("screening", "/api/screenings"),
                          ("notifications", "/api/notifications"), ("staff", "/api/staff/me")):
        answer = until(lambda: direct(system, service, "GET", path, token), lambda r: r.status_code == 401, seconds=10)
        assert answer.status_code == 401, service
    again = sign_in(system, email)
    assert direct(system, "screening", "GET", "/api/screenings", again).status_code == 200
    made_inactive = system.call("PATCH", f"/api/staff/members/{member['id']}", token=team["admin"], json={"active": False})
    assert made_inactive.status_code == 200 and made_inactive.json()["active"] is False
    answer = until(lambda: direct(system, "screening", "GET", "/api/screenings", again),
                   lambda r: r.status_code == 401, seconds=10)
    assert answer.status_code == 401
    # five failures lock the e-mail, known or not, with Retry-After; the operator key keeps working
    for who in (email, f"ghost-{uuid.uuid4().hex[:6]}@clinic.test"):
        for _ in range(5):
            assert system.call("POST", "/api/staff/sessions", json={"email": who, "password": "wrong-guess"}).status_code == 401
        locked = system.call("POST", "/api/staff/sessions", json={"email": who, "password": PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert system.staff("GET", "/api/staff/members").status_code == 200
    failed = until(lambda: audit_entries(system, team["admin"], action="staff.sign_in_failed", resource_id=member["id"]),
                   lambda found: len(found) >= 5)
    assert len(failed) == 5


def test_practitioner_ids_are_checked_and_no_answer_shows_a_password(system, team):
    bad = system.call("POST", "/api/staff/members", token=team["admin"],
                      json={"name": "P", "email": f"p-{uuid.uuid4().hex[:6]}@clinic.test", "role": "practitioner",
                            "password": PASSWORD, "practitioner_id": "nobody"})
    assert bad.status_code == 422 and "practitioner_id" in bad.json()["error"]["details"]["fields"]
    listed = system.call("GET", "/api/staff/members", token=team["admin"])
    assert PASSWORD not in listed.text and "argon2" not in listed.text and system.admin["password"] not in listed.text


def test_pages_carry_the_security_headers(system):
    for path in ("/", "/staff", "/api/docs"):
        response = system.call("GET", path)
        assert response.status_code == 200
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_every_event_reached_every_consumer(system):
    """Last in this module: every audit event above reached the staff service's inbox (and every other
    event its consumers)."""
    from system import undelivered_events

    published, missing = undelivered_events(system)
    assert any(event_type == "audit.recorded" for _, event_type in published)
    assert not missing, {consumer: (len(events), events[:5]) for consumer, events in missing.items()}
