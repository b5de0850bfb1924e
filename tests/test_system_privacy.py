"""Health data kept where it belongs (issue #10), on each backend set.

Every producer's use cases are driven through the gateway (every screening outcome and both clearances,
bookings confirmed, rescheduled, cancelled and completed, a consultation, a course) and two events go wrong
(one malformed, one that fails in its handler every time). Then every event payload in every outbox, every
message body notifications keeps, every dead-letter reason and every line of every process's log is read:
no answer, question id, reason code or reason message may be in any of them; no name, e-mail address or
phone number in any log line or dead-letter reason.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from clinic_shared.broker import Publisher, connect
from clinic_shared.dead_letters import peek
from clinic_shared.events import make_envelope
from clinic_shared.settings import load_settings
from clinic_shared.testing import health_data_in
from clinic_shared.topology import Topology
from notifications.domain.rendering import load_template
from screening.domain.ruleset import load_ruleset
from system import find_in_databases, table_rows, text_columns, undelivered_events
from test_system_slice import ELIGIBLE, book, until

pytestmark = pytest.mark.system

RULES = load_ruleset()
HEALTH_DATA = {*RULES.question_ids, *(rule.code for rule in RULES.rules), *(rule.message for rule in RULES.rules)}
NOT_SUITABLE = {rule.question: True for rule in RULES.rules
                if rule.outcome == "not_suitable" and rule.question != "fitzpatrick_type"}


class People:
    """Clients with names, e-mails and phones unique to this run, so a find in a log can only be a leak."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:8]
        self.contacts = []

    def new(self) -> dict:
        n = len(self.contacts)
        contact = {"name": f"Zelda Quimby{self.tag}{n}", "email": f"zq.{self.tag}.{n}@example.org",
                   "phone": f"+44 20 7946 {n:04d}"}
        self.contacts.append(contact)
        return contact

    def personal_data_in(self, text: str) -> list[str]:
        text = text.lower()  # an error message may change the case ("Zq.…@example.org")
        return sorted({value for contact in self.contacts for value in contact.values() if value.lower() in text})


def screen(system, people: People, answers: dict | None = None) -> dict:
    body = {"client": people.new(), "areas": ["face"], "answers": {**ELIGIBLE, **(answers or {})}}
    response = system.call("POST", "/api/screenings", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    created["areas"] = ["face"]
    return created


def free_start(system, days_ahead: int, kind: str | None = None) -> str:
    day = date.today() + timedelta(days=days_ahead)
    while True:
        query = f"date={day.isoformat()}&" + ("type=consultation" if kind else "areas=face")
        slots = system.call("GET", f"/api/availability?{query}").json()["slots"]
        if slots:
            return slots[0]["start"]
        day += timedelta(days=1)


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def publish_to_booking(system, data: dict, **spoilt) -> None:
    """An event as if the screening service had sent it, straight onto the broker, with `spoilt` fields."""
    settings = load_settings("screening", system.env)
    envelope = make_envelope("screening.completed", data, producer="screening")
    envelope["data"] = {**data, **spoilt}
    with connect(settings) as connection:
        Publisher(connection, Topology(settings.topology_prefix)).publish(envelope)


@pytest.fixture(scope="module")
def flow(system):
    """Drives every producer once; returns the people it made up."""
    people = People()
    # screening: every outcome, both clearances
    eligible = screen(system, people)
    screen(system, people, NOT_SUITABLE)
    approved = screen(system, people, {"fitzpatrick_type": "V", "keloid_scarring": True})
    declined = screen(system, people, {"blood_thinners": True})
    for screening, decision in ((approved, "approved"), (declined, "declined")):
        ok(system.staff("POST", f"/api/screenings/{screening['id']}/clearance",
                        json={"decision": decision, "note": "talked it through"}))
    assert system.call("POST", "/api/screenings", json={"client": people.new(), "areas": ["face"],
                                                         "answers": {"eczema": "maybe"}}).status_code == 422
    # booking: confirmed, rescheduled, cancelled, completed; a consultation; a course
    moved = ok(book(system, eligible, free_start(system, 40)), 201)
    ok(system.call("POST", f"/api/bookings/{moved['id']}/reschedule", token=eligible["access_token"],
                   json={"start": free_start(system, 41)}))
    ok(system.call("POST", f"/api/bookings/{moved['id']}/cancel", token=eligible["access_token"],
                   json={"reason": "away"}))
    after_clearance = free_start(system, 44)  # booking hears of the clearance a moment after it is made
    done = ok(until(lambda: book(system, approved, after_clearance), lambda r: r.status_code == 201), 201)
    ok(system.staff("POST", f"/api/bookings/{done['id']}/complete"))
    pending = screen(system, people, {"keloid_scarring": True})
    ok(book(system, pending, free_start(system, 46, kind="consultation"), type="consultation"), 201)
    course_client = screen(system, people)
    course = until(lambda: system.call("POST", "/api/courses", token=course_client["access_token"], json={
        "screening_id": course_client["id"], "areas": ["face"], "sessions": 3, "interval_weeks": 4,
        "start": free_start(system, 60)}), lambda r: r.status_code != 409)
    assert course.status_code == 201, course.text
    # two events that go wrong, each carrying a made-up client's name and e-mail
    bad = people.new()
    base = {"screening_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()),
            "client": {"name": bad["name"], "email": bad["email"]}, "areas": ["face"], "outcome": "eligible",
            "valid_until": "2099-01-01T00:00:00+00:00", "rules_version": "x", "created_at": "2026-01-01T00:00:00Z"}
    publish_to_booking(system, base, outcome=bad["email"])  # malformed: refused by the schema at once
    # valid by the schema, fails in the handler every time (the date does not parse): retried, then dead
    publish_to_booking(system, dict(base, screening_id=str(uuid.uuid4())), valid_until=f"{bad['name']} {bad['email']}")

    _, missing = undelivered_events(system)
    assert not missing
    until(lambda: [r for r in table_rows(system, "notifications", "notifications")
                   if r["kind"] == "screening_result"], lambda rows: len(rows) >= 4)
    settings = load_settings("booking", system.env)
    with connect(settings) as connection:
        dead = until(lambda: peek(connection, Topology(settings.topology_prefix), "booking"),
                     lambda found: len(found) >= 2, seconds=60)
    return people, dead


def test_no_event_payload_carries_an_answer_or_a_reason(system, flow):
    seen = set()
    for service in ("screening", "booking", "notifications"):
        for row in table_rows(system, service, "outbox"):
            body = json.loads(row["body"])
            seen.add((body["type"], body["data"].get("outcome") or body["data"].get("status")))
            assert "answers" not in row["body"] and '"reasons"' not in row["body"], row["body"]
            assert health_data_in(row["body"], HEALTH_DATA) == [], row["body"]
    assert {("screening.completed", o) for o in ("eligible", "consultation_required", "not_suitable")} <= seen
    assert {("screening.cleared", "eligible"), ("screening.cleared", "not_suitable")} <= seen
    assert {t for t, _ in seen} >= {"booking.confirmed", "booking.rescheduled", "booking.cancelled",
                                    "booking.completed"}


def test_no_message_kept_by_notifications_names_a_condition_of_its_client(system, flow):
    rows = table_rows(system, "notifications", "notifications")
    assert {r["kind"] for r in rows} >= {"screening_result", "pre_treatment", "cancellation", "aftercare",
                                         "consultation_confirmation"}
    # The preparation for a treatment lists contraindications, the same to everyone: nothing of the client's own.
    everyones = set(health_data_in(load_template("_preparation_treatment"), HEALTH_DATA))
    for row in rows:
        stored = f"{row['subject']}\n{row['body_text']}"
        allowed = set() if row["kind"] == "screening_result" else everyones
        assert set(health_data_in(stored, HEALTH_DATA)) <= allowed, stored
    result = next(r for r in rows if r["kind"] == "screening_result")
    assert f"{system.url}/\n" in result["body_text"]  # CLINIC_PUBLIC_URL's default: where, signed in, they read why


def test_dead_letter_reasons_name_fields_not_values(system, flow):
    people, dead = flow
    reasons = [d["reason"] for d in dead]
    assert any(r.startswith("malformed: ValidationError on outcome") for r in reasons), reasons
    assert any(r.startswith("failed 5 times: ValueError") for r in reasons), reasons
    assert people.personal_data_in("\n".join(reasons)) == []


def test_no_log_line_holds_personal_or_health_data(system, flow):
    people, _ = flow
    logs = {name: path.read_text(errors="replace") for name, path in system.logs.items()}
    assert "moved to dead-letter queue" in logs["booking-worker"]  # the failures above were logged
    assert "sent screening_result" in logs["notifications-worker"]
    for name, text in logs.items():
        assert people.personal_data_in(text) == [], name
        assert health_data_in(text, HEALTH_DATA) == [], name


# --- a client's data: export and erasure (API.md "A client's data") ----------------------------------------

@pytest.fixture(scope="module")
def erasable(system):
    """A client with two screenings (one needing a consultation: a screening result e-mail), a treatment booked
    (its invitation sent) and a consultation; contact details unique to this run."""
    tag = uuid.uuid4().hex[:8]
    contact = {"name": f"Ophelia Erasable{tag}", "email": f"oe.{tag}@example.org",
               "phone": f"+44 113 {int(tag[:6], 16) % 10**7:07d}"}
    first = ok(system.call("POST", "/api/screenings", json={"client": contact, "areas": ["face"],
                                                            "answers": ELIGIBLE}), 201)
    first["areas"] = ["face"]
    token = first["access_token"]
    second = ok(system.call("POST", "/api/screenings", token=token, json={
        "client": contact, "areas": ["face"], "answers": {**ELIGIBLE, "keloid_scarring": True}}), 201)
    treatment = ok(book(system, first, free_start(system, 90)), 201)
    consultation = ok(book(system, {**second, "areas": ["face"]}, free_start(system, 92, kind="consultation"),
                           type="consultation"), 201)
    wait_day = date.fromisoformat(consultation["start"][:10]) + timedelta(days=1)  # she also waits for a day
    wait_day += timedelta(days=1 if wait_day.weekday() == 6 else 0)  # (the clinic is shut on Sundays)
    waiting = ok(system.call("POST", "/api/waitlist", token=token, json={
        "screening_id": second["id"], "type": "consultation", "date": wait_day.isoformat()}), 201)
    sent = until(lambda: system.staff("GET", f"/api/notifications?booking_id={treatment['id']}").json(),
                 lambda body: any(n["status"] == "sent" for n in body["notifications"]), seconds=60)
    assert any(n["status"] == "sent" for n in sent["notifications"]), sent
    return {"contact": contact, "token": token, "client_id": first["client_id"], "screenings": [first, second],
            "treatment": treatment, "consultation": consultation, "waiting": waiting}


def test_a_client_and_an_admin_export_everything_held_about_the_client(system, erasable):
    path = f"/api/clients/{erasable['client_id']}/export"
    own = ok(system.call("GET", path, token=erasable["token"]))
    admin = ok(system.staff("GET", path))
    for export in (own, admin):
        assert export["client"] == {"id": erasable["client_id"], **erasable["contact"]}
        assert [s["id"] for s in export["screenings"]] == [s["id"] for s in erasable["screenings"]]
        assert export["screenings"][1]["answers"]["keloid_scarring"] is True
        assert {b["id"] for b in export["bookings"]} == {erasable["treatment"]["id"], erasable["consultation"]["id"]}
        assert export["courses"] == [] and [e["id"] for e in export["waitlist"]] == [erasable["waiting"]["id"]]
        kinds = {n["kind"] for n in export["notifications"]}
        assert {"pre_treatment", "consultation_confirmation", "screening_result"} <= kinds
    someone_else = screen(system, People())
    assert system.call("GET", path, token=someone_else["access_token"]).status_code == 404
    assert system.call("GET", "/api/clients/nobody/export", token=system.staff_token).status_code == 404
    audit = until(lambda: system.staff("GET", f"/api/audit?action=client.exported&resource_id={erasable['client_id']}"),
                  lambda r: r.status_code == 200 and r.json()["entries"])
    assert [e["actor"]["id"] for e in audit.json()["entries"]] == ["operator"]  # the admin's export, not the client's


def test_erasure_removes_the_client_from_every_table_of_every_service(system, erasable):
    contact, client_id = erasable["contact"], erasable["client_id"]
    values = [contact["name"], contact["email"], contact["phone"]]
    before = find_in_databases(system, values)
    assert {(service, table) for service, table, _, _ in before} >= {
        ("screening", "screenings"), ("booking", "screenings"), ("notifications", "notifications")}  # the scan sees
    path = f"/api/clients/{client_id}/erasure"
    started = system.staff("POST", path)
    assert started.status_code == 202, started.text
    assert started.json()["client_id"] == client_id and started.json()["status"] in ("in_progress", "done")
    assert set(started.json()["services"]) == {"screening", "booking", "notifications"}
    record = until(lambda: system.staff("GET", path).json(), lambda r: r["status"] == "done", seconds=60)
    assert record["status"] == "done", record
    assert record["services"] == {"screening": "done", "booking": "done", "notifications": "done"}

    assert find_in_databases(system, values) == []
    counted = {service: len(text_columns(system, service)) for service in ("screening", "booking", "notifications",
                                                                           "staff")}
    assert all(counted.values()), counted

    token = erasable["token"]
    for call in (("GET", f"/api/screenings/{erasable['screenings'][0]['id']}"), ("GET", "/api/bookings"),
                 ("GET", f"/api/notifications?booking_id={erasable['treatment']['id']}"),
                 ("GET", f"/api/clients/{client_id}/export")):
        assert system.call(*call, token=token).status_code == 401, call
    assert system.staff("GET", f"/api/clients/{client_id}/export").status_code == 404
    assert system.staff("GET", f"/api/screenings/{erasable['screenings'][0]['id']}").status_code == 404
    treatment = ok(system.staff("GET", f"/api/bookings/{erasable['treatment']['id']}"))
    assert (treatment["status"], treatment["client_id"]) == ("cancelled", "erased")
    assert system.staff("GET", f"/api/waitlist/{erasable['waiting']['id']}").status_code == 404  # deleted
    messages = ok(system.staff("GET", f"/api/notifications?booking_id={erasable['treatment']['id']}"))["notifications"]
    assert messages and {m["status"] for m in messages} <= {"sent", "cancelled"}
    assert not [m for m in messages if m["kind"] == "cancellation"]  # cancelled without a message
    assert all(m["to"] == "" for m in messages)
    again = system.staff("POST", path)
    assert again.status_code == 202 and again.json()["status"] == "done"
    audit = until(lambda: system.staff("GET", f"/api/audit?action=client.erasure_requested&resource_id={client_id}"),
                  lambda r: r.status_code == 200 and len(r.json()["entries"]) == 2)
    assert len(audit.json()["entries"]) == 2
    for name, log in system.logs.items():  # export and erasure logged ids only
        text = log.read_text(errors="replace").lower()
        assert [v for v in values if v.lower() in text] == [], name
