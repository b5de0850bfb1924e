"""Events: written through the outbox with the row, published to RabbitMQ, and never carrying answers."""
from __future__ import annotations

import json
import queue as queue_module
import threading
import time

from kombu import Connection
from sqlalchemy import select

from clinic_shared.broker import Publisher
from clinic_shared.events import parse_envelope
from clinic_shared.outbox import OutboxRelay
from clinic_shared.testing import health_data_in
from clinic_shared.topology import Topology

from screening.domain.ruleset import load_ruleset
from screening.store.tables import outbox

NOTE = "private-note-7f3a: discussed medication"
QUESTION_IDS = {"active_acne", "eczema", "psoriasis", "fitzpatrick_type", "pregnant_or_breastfeeding",
                "isotretinoin_last_6_months", "active_skin_infection", "keloid_scarring", "blood_thinners"}
RULES = load_ruleset()
HEALTH_DATA = {*QUESTION_IDS, *(r.code for r in RULES.rules), *(r.message for r in RULES.rules)}
COMPLETED_FIELDS = {"screening_id", "client_id", "client", "areas", "outcome", "valid_until",
                    "rules_version", "created_at"}


def outbox_bodies(app) -> list[str]:
    with app.extensions["screening"].session_factory() as session:
        return [row.body for row in session.execute(select(outbox.c.body).order_by(outbox.c.id))]


def every_key(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in every_key(v)}
    if isinstance(value, list):
        return {k for v in value for k in every_key(v)}
    return set()


def assert_private(raw: str) -> dict:
    """A published body: a valid envelope (a screening event of version 2, the outcome-only one), with no
    answer, no question, no reason (code or message) and no clearance note in it."""
    body = json.loads(raw)
    envelope, _ = parse_envelope(body)
    if envelope["type"].startswith("screening."):
        assert envelope["version"] == 2
    keys = every_key(body)
    assert not keys & {"answers", "reasons"}
    assert health_data_in(raw, HEALTH_DATA) == []
    assert NOTE not in raw
    return envelope


def make_traffic(client, staff, make_body):
    """One screening of each outcome, an approved and a declined clearance, and a refused request."""
    created = {}
    for name, changes in [("eligible", {}), ("pigment", {"fitzpatrick_type": "VI"}),
                          ("keloid", {"keloid_scarring": True, "blood_thinners": True}),
                          ("unsuitable", {"eczema": True, "fitzpatrick_type": "IV"})]:
        response = client.post("/api/screenings", json=make_body(**changes))
        assert response.status_code == 201
        created[name] = response.json
    client.post("/api/screenings", json=make_body(eczema="true"))  # refused: writes nothing
    for name, decision in [("pigment", "approved"), ("keloid", "declined")]:
        response = client.post(f"/api/screenings/{created[name]['id']}/clearance",
                               json={"decision": decision, "note": NOTE}, headers=staff)
        assert response.status_code == 200
    return created


def test_every_outbox_event_is_complete_and_private(client, app, staff, make_body):
    created = make_traffic(client, staff, make_body)
    everything = [assert_private(raw) for raw in outbox_bodies(app)]
    audits = [e for e in everything if e["type"] == "audit.recorded"]
    assert [(a["data"]["action"], a["data"]["actor"]["id"]) for a in audits] == [("screening.cleared", "operator")] * 2
    envelopes = [e for e in everything if e["type"] != "audit.recorded"]
    assert [e["type"] for e in envelopes] == ["screening.completed"] * 4 + ["screening.cleared"] * 2
    for envelope in envelopes:
        assert envelope["producer"] == "screening"
        assert envelope["correlation_id"]
    completed = {e["data"]["screening_id"]: e["data"] for e in envelopes[:4]}
    for name, screening in created.items():
        data = completed[screening["id"]]
        assert set(data) == COMPLETED_FIELDS
        assert data["client_id"] == screening["client_id"]
        assert data["client"] == {"name": "Ada Client", "email": "ada@example.com", "phone": "+44 20 7946 0000"}
        assert data["areas"] == ["face"]
        assert data["outcome"] == screening["outcome"]
        assert data["valid_until"] == screening["valid_until"]
        assert data["rules_version"] == "2025.1"
    pigment, keloid = envelopes[4]["data"], envelopes[5]["data"]
    assert set(pigment) == COMPLETED_FIELDS | {"previous_outcome", "decision", "decided_at"}
    assert (pigment["screening_id"], pigment["outcome"], pigment["decision"]) == (
        created["pigment"]["id"], "eligible", "approved")
    assert (keloid["screening_id"], keloid["outcome"], keloid["decision"]) == (
        created["keloid"]["id"], "not_suitable", "declined")
    assert pigment["previous_outcome"] == keloid["previous_outcome"] == "consultation_required"
    assert pigment["valid_until"] == created["pigment"]["valid_until"]


def test_the_request_id_becomes_the_correlation_id(client, app, make_body):
    client.post("/api/screenings", json=make_body(), headers={"X-Request-ID": "req-123"})
    [raw] = outbox_bodies(app)
    assert json.loads(raw)["correlation_id"] == "req-123"


def test_a_refused_clearance_writes_no_event(client, app, staff, make_body):
    created = client.post("/api/screenings", json=make_body()).json
    client.post(f"/api/screenings/{created['id']}/clearance", json={"decision": "approved"}, headers=staff)
    assert [json.loads(raw)["type"] for raw in outbox_bodies(app)] == ["screening.completed"]


def drain(amqp_url, prefix, service, expected, timeout=10.0) -> list[str]:
    """Read `expected` messages from a consuming service's queue on RabbitMQ."""
    bodies = []
    with Connection(amqp_url) as connection:
        simple = connection.SimpleQueue(Topology(prefix).queue(service))
        deadline = time.monotonic() + timeout
        try:
            while len(bodies) < expected and time.monotonic() < deadline:
                try:
                    message = simple.get(timeout=0.5)
                except queue_module.Empty:
                    continue
                bodies.append(message.body if isinstance(message.body, str) else message.body.decode())
                message.ack()
        finally:
            simple.close()
    return bodies


def test_what_reaches_the_broker_carries_no_answers(client, app, staff, make_body, amqp_url, topology_prefix):
    make_traffic(client, staff, make_body)
    context = app.extensions["screening"]
    with Connection(amqp_url) as connection:
        relay = OutboxRelay(context.session_factory, outbox, Publisher(connection, Topology(topology_prefix)))
        assert relay.relay_once() == 8  # six screening events, two audit entries of the clearances
        assert relay.pending() == 0
        assert relay.relay_once() == 0  # published once, not again
    for service in ("booking", "notifications"):
        bodies = drain(amqp_url, topology_prefix, service, expected=6)
        envelopes = [assert_private(raw) for raw in bodies]
        assert sorted(e["type"] for e in envelopes) == ["screening.cleared"] * 2 + ["screening.completed"] * 4
        assert {e["event_id"] for e in envelopes} == {json.loads(b)["event_id"] for b in outbox_bodies(app)
                                                       if json.loads(b)["type"] != "audit.recorded"}
    audits = [assert_private(raw) for raw in drain(amqp_url, topology_prefix, "staff", expected=2)]
    assert [e["data"]["action"] for e in audits] == ["screening.cleared"] * 2  # the trail's consumer gets them


def test_the_worker_relays_the_outbox(client, screening_settings, make_body, amqp_url, topology_prefix):
    from screening.worker import run

    created = client.post("/api/screenings", json=make_body(keloid_scarring=True)).json
    settings = screening_settings.with_overrides(broker_url=amqp_url, topology_prefix=topology_prefix)
    stop = threading.Event()
    worker = threading.Thread(target=run, kwargs={"settings": settings, "stop": stop}, daemon=True)
    worker.start()
    try:
        [raw] = drain(amqp_url, topology_prefix, "booking", expected=1, timeout=15)
    finally:
        stop.set()
        worker.join(timeout=15)
    envelope = assert_private(raw)
    assert envelope["type"] == "screening.completed"
    assert envelope["data"]["screening_id"] == created["id"]
    assert envelope["data"]["outcome"] == "consultation_required"
    assert not worker.is_alive()
