"""The HTTP endpoints on a real, migrated database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest



def clean_answers(**changes):
    """Answers on which no rule fires, with `changes` applied."""
    answers = {
        "active_acne": False, "eczema": False, "psoriasis": False, "fitzpatrick_type": "II",
        "pregnant_or_breastfeeding": False, "isotretinoin_last_6_months": False,
        "active_skin_infection": False, "keloid_scarring": False, "blood_thinners": False,
    }
    answers.update(changes)
    return answers


def screening_body(**answer_changes):
    return {"client": {"name": "Ada Client", "email": "ada@example.com", "phone": "+44 20 7946 0000"},
            "areas": ["face"], "answers": clean_answers(**answer_changes)}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def submit(client, headers=None, **answer_changes):
    response = client.post("/api/screenings", json=screening_body(**answer_changes), headers=headers or {})
    assert response.status_code == 201, response.json
    return response.json


def fields_of(response):
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    return response.json["error"]["details"]["fields"]


# --- questionnaire -----------------------------------------------------------------------------

def test_questionnaire_lists_every_question_with_its_type(client):
    response = client.get("/api/screening/questionnaire")
    assert response.status_code == 200
    body = response.json
    assert body["version"] == "2025.1"
    by_id = {q["id"]: q for q in body["questions"]}
    assert set(by_id) == set(clean_answers())
    assert by_id["fitzpatrick_type"]["type"] == "choice"
    assert by_id["fitzpatrick_type"]["choices"] == ["I", "II", "III", "IV", "V", "VI"]
    assert by_id["eczema"] == {"id": "eczema", "type": "boolean", "text": by_id["eczema"]["text"]}
    assert all(q["text"] for q in body["questions"])


# --- submitting --------------------------------------------------------------------------------

def test_an_eligible_screening(client):
    body = submit(client)
    assert set(body) == {"id", "client_id", "outcome", "reasons", "valid_until", "access_token"}
    assert body["outcome"] == "eligible" and body["reasons"] == []
    valid_until = datetime.fromisoformat(body["valid_until"])
    assert valid_until.utcoffset() is not None
    assert valid_until - datetime.now(valid_until.tzinfo) > timedelta(days=89, hours=23)
    assert valid_until - datetime.now(valid_until.tzinfo) <= timedelta(days=90)


def test_outcome_and_reasons_come_from_the_rules(client):
    body = submit(client, fitzpatrick_type="V", blood_thinners=True)
    assert body["outcome"] == "consultation_required"
    assert [r["code"] for r in body["reasons"]] == ["hyperpigmentation_risk", "blood_thinners"]
    assert all(r["message"] for r in body["reasons"])
    worst = submit(client, fitzpatrick_type="V", psoriasis=True)
    assert worst["outcome"] == "not_suitable"
    assert {r["code"] for r in worst["reasons"]} == {"hyperpigmentation_risk", "psoriasis"}


def test_without_a_token_every_screening_is_a_new_client_even_with_the_same_email(client):
    first, second = submit(client), submit(client)
    assert first["client_id"] != second["client_id"]
    # The second client's token does not open the first client's screening.
    assert client.get(f"/api/screenings/{first['id']}", headers=bearer(second["access_token"])).status_code == 404


def test_a_client_token_adds_the_screening_to_that_client(client):
    first = submit(client, eczema=True)
    again = submit(client, headers=bearer(first["access_token"]))
    assert again["client_id"] == first["client_id"]
    assert again["outcome"] == "eligible"
    for screening_id in (first["id"], again["id"]):
        assert client.get(f"/api/screenings/{screening_id}", headers=bearer(again["access_token"])).status_code == 200


def test_a_staff_token_screens_a_new_client(client, staff):
    body = submit(client, headers=staff)
    assert body["client_id"]
    assert client.get(f"/api/screenings/{body['id']}", headers=bearer(body["access_token"])).status_code == 200


def test_a_bad_token_on_submit_is_refused(client):
    response = client.post("/api/screenings", json=screening_body(), headers=bearer("forged"))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


# --- validation --------------------------------------------------------------------------------

def with_client(**changes):
    body = screening_body()
    body["client"].update(changes)
    return body


@pytest.mark.parametrize("body, field", [
    (with_client(email="not-an-email"), "email"),
    (with_client(email=""), "email"),
    (with_client(name=""), "name"),
    (with_client(name="   "), "name"),
    (with_client(name=None), "name"),
    (with_client(name="x" * 201), "name"),
    (with_client(phone="call me"), "phone"),
    (with_client(phone="12"), "phone"),
    (with_client(phone=5551234), "phone"),
    (with_client(nickname="Ada"), "nickname"),
])
def test_client_fields_are_checked(client, body, field):
    assert field in fields_of(client.post("/api/screenings", json=body))["client"]


def test_phone_is_optional(client):
    body = screening_body()
    del body["client"]["phone"]
    assert client.post("/api/screenings", json=body).status_code == 201
    body["client"]["phone"] = None
    assert client.post("/api/screenings", json=body).status_code == 201


@pytest.mark.parametrize("areas", [[], ["feet"], ["face", "elbow"], "face", [1], ["face", "face"], None])
def test_areas_must_be_known_and_at_least_one(client, areas):
    body = screening_body()
    body["areas"] = areas
    assert "areas" in fields_of(client.post("/api/screenings", json=body))


@pytest.mark.parametrize("areas", [["face"], ["neck", "hands"], ["decolletage"], ["scalp"]])
def test_every_known_area_is_accepted(client, areas):
    body = screening_body()
    body["areas"] = areas
    assert client.post("/api/screenings", json=body).status_code == 201


@pytest.mark.parametrize("changes, bad", [
    ({"eczema": "true"}, "eczema"),
    ({"eczema": 1}, "eczema"),
    ({"active_acne": 0}, "active_acne"),
    ({"blood_thinners": None}, "blood_thinners"),
    ({"fitzpatrick_type": "iv"}, "fitzpatrick_type"),
    ({"fitzpatrick_type": 4}, "fitzpatrick_type"),
    ({"tattoos": False}, "tattoos"),
])
def test_answers_must_have_their_type_and_be_known(client, changes, bad):
    body = {"client": {"name": "Ada", "email": "ada@example.com"}, "areas": ["face"],
            "answers": clean_answers(**changes)}
    assert list(fields_of(client.post("/api/screenings", json=body))["answers"]) == [bad]


def test_a_missing_answer_is_named(client):
    body = screening_body()
    del body["answers"]["psoriasis"]
    assert fields_of(client.post("/api/screenings", json=body))["answers"] == {
        "psoriasis": ["This question must be answered."]}


def test_every_bad_field_is_named_at_once(client):
    body = {"client": {"name": "", "email": "nope"}, "areas": ["knees"],
            "answers": {"eczema": "yes", "extra": True}, "coupon": "X"}
    fields = fields_of(client.post("/api/screenings", json=body))
    assert set(fields) == {"client", "areas", "answers", "coupon"}
    assert set(fields["client"]) == {"name", "email"}
    assert {"eczema", "extra", "psoriasis"} <= set(fields["answers"])


@pytest.mark.parametrize("missing", ["client", "areas", "answers"])
def test_required_parts(client, missing):
    body = screening_body()
    del body[missing]
    assert missing in fields_of(client.post("/api/screenings", json=body))


@pytest.mark.parametrize("raw, content_type, status", [
    ("[1, 2]", "application/json", 422),
    ('"text"', "application/json", 422),
    ("{", "application/json", 400),
    ("client=1", "application/x-www-form-urlencoded", 400),
    ("", "application/json", 422),
    ('{"client": "Ada", "areas": {"face": true}, "answers": []}', "application/json", 422),
])
def test_malformed_bodies_never_give_500(client, raw, content_type, status):
    response = client.post("/api/screenings", data=raw, content_type=content_type)
    assert response.status_code == status
    assert "error" in response.json


def test_nothing_is_stored_for_a_refused_screening(client, staff):
    body = screening_body(eczema="true")
    client.post("/api/screenings", json=body)
    assert client.get("/api/screenings", headers=staff).json["screenings"] == []


# --- reading: owner, other client, staff, no token ---------------------------------------------

def test_the_owner_reads_the_whole_screening(client):
    created = submit(client, fitzpatrick_type="IV")
    response = client.get(f"/api/screenings/{created['id']}", headers=bearer(created["access_token"]))
    assert response.status_code == 200
    body = response.json
    assert body["id"] == created["id"] and body["client_id"] == created["client_id"]
    assert body["client"] == {"name": "Ada Client", "email": "ada@example.com", "phone": "+44 20 7946 0000"}
    assert body["areas"] == ["face"]
    assert body["answers"] == clean_answers(fitzpatrick_type="IV")
    assert body["outcome"] == "consultation_required"
    assert body["reasons"] == created["reasons"]
    assert body["valid_until"] == created["valid_until"]
    assert body["rules_version"] == "2025.1"
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    assert "access_token" not in body


def test_staff_read_any_screening(client, staff):
    created = submit(client)
    assert client.get(f"/api/screenings/{created['id']}", headers=staff).json["id"] == created["id"]


def test_another_clients_screening_is_not_found(client):
    mine, theirs = submit(client), submit(client)
    response = client.get(f"/api/screenings/{theirs['id']}", headers=bearer(mine["access_token"]))
    assert response.status_code == 404
    missing = client.get("/api/screenings/no-such-id", headers=bearer(mine["access_token"]))
    assert missing.status_code == 404
    assert response.json == missing.json  # indistinguishable from one that does not exist


def test_reading_needs_a_valid_token(client):
    created = submit(client)
    assert client.get(f"/api/screenings/{created['id']}").status_code == 401
    response = client.get(f"/api/screenings/{created['id']}", headers=bearer("forged"))
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


# --- the staff list ----------------------------------------------------------------------------

def test_the_clearance_queue_oldest_first(client, staff):
    first = submit(client, keloid_scarring=True)
    submit(client)
    submit(client, eczema=True)
    second = submit(client, fitzpatrick_type="VI")
    response = client.get("/api/screenings?outcome=consultation_required", headers=staff)
    assert response.status_code == 200
    assert [s["id"] for s in response.json["screenings"]] == [first["id"], second["id"]]
    assert len(client.get("/api/screenings", headers=staff).json["screenings"]) == 4
    not_suitable = client.get("/api/screenings?outcome=not_suitable", headers=staff).json["screenings"]
    assert [s["reasons"][0]["code"] for s in not_suitable] == ["eczema"]


def test_the_list_is_for_staff_only(client):
    created = submit(client)
    assert client.get("/api/screenings").status_code == 401
    response = client.get("/api/screenings", headers=bearer(created["access_token"]))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_the_list_refuses_an_unknown_outcome(client, staff):
    assert "outcome" in fields_of(client.get("/api/screenings?outcome=maybe", headers=staff))


# --- clearance ---------------------------------------------------------------------------------

@pytest.mark.parametrize("decision, outcome", [("approved", "eligible"), ("declined", "not_suitable")])
def test_staff_clear_a_consultation_required_screening(client, staff, decision, outcome):
    created = submit(client, blood_thinners=True)
    response = client.post(f"/api/screenings/{created['id']}/clearance",
                           json={"decision": decision, "note": "Seen in consultation."}, headers=staff)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["outcome"] == outcome
    assert body["valid_until"] == created["valid_until"]  # validity counts from the screening
    assert body["clearance"]["decision"] == decision
    assert body["clearance"]["note"] == "Seen in consultation."
    assert body["clearance"]["decided_by"] == "operator"  # the member who decided; the operator key here
    assert datetime.fromisoformat(body["clearance"]["decided_at"]).utcoffset() is not None
    stored = client.get(f"/api/screenings/{created['id']}", headers=bearer(created["access_token"])).json
    assert stored["outcome"] == outcome and stored["clearance"] == body["clearance"]
    queue = client.get("/api/screenings?outcome=consultation_required", headers=staff).json["screenings"]
    assert queue == []


def test_the_note_is_optional(client, staff):
    created = submit(client, keloid_scarring=True)
    response = client.post(f"/api/screenings/{created['id']}/clearance", json={"decision": "approved"},
                           headers=staff)
    assert response.status_code == 200 and response.json["clearance"]["note"] is None


@pytest.mark.parametrize("changes", [{}, {"eczema": True}])
def test_clearance_of_a_screening_that_needs_none_is_a_conflict(client, staff, changes):
    created = submit(client, **changes)
    response = client.post(f"/api/screenings/{created['id']}/clearance", json={"decision": "approved"},
                           headers=staff)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"


def test_a_screening_is_cleared_only_once(client, staff):
    created = submit(client, keloid_scarring=True)
    url = f"/api/screenings/{created['id']}/clearance"
    assert client.post(url, json={"decision": "declined"}, headers=staff).status_code == 200
    again = client.post(url, json={"decision": "approved"}, headers=staff)
    assert again.status_code == 409
    assert client.get(f"/api/screenings/{created['id']}", headers=staff).json["outcome"] == "not_suitable"


def test_clearance_is_for_staff_only_and_checked_before_the_body(client):
    created = submit(client, keloid_scarring=True)
    url = f"/api/screenings/{created['id']}/clearance"
    assert client.post(url, json={"decision": "approved"}).status_code == 401
    as_owner = client.post(url, json={"decision": "whatever"}, headers=bearer(created["access_token"]))
    assert as_owner.status_code == 403
    assert client.get(f"/api/screenings/{created['id']}", headers=bearer(created["access_token"])).json[
        "outcome"] == "consultation_required"


@pytest.mark.parametrize("body, field", [
    ({}, "decision"),
    ({"decision": "maybe"}, "decision"),
    ({"decision": True}, "decision"),
    ({"decision": "approved", "note": "x" * 2001}, "note"),
    ({"decision": "approved", "extra": 1}, "extra"),
])
def test_clearance_body_is_checked(client, staff, body, field):
    created = submit(client, keloid_scarring=True)
    assert field in fields_of(client.post(f"/api/screenings/{created['id']}/clearance", json=body, headers=staff))


def test_clearance_of_an_unknown_screening_is_not_found(client, staff):
    response = client.post("/api/screenings/nope/clearance", json={"decision": "approved"}, headers=staff)
    assert response.status_code == 404


# --- the service's own parts -------------------------------------------------------------------

def test_openapi_describes_every_endpoint(client):
    spec = client.get("/openapi.json").json
    assert set(spec["paths"]) == {"/api/screening/questionnaire", "/api/screenings", "/api/screenings/{screening_id}",
                                  "/api/screenings/{screening_id}/clearance", "/api/auth/link", "/api/auth/token",
                                  "/api/clients/{client_id}/erasure"}
    assert {"get", "post"} <= set(spec["paths"]["/api/screenings"])
    assert "409" in spec["paths"]["/api/screenings/{screening_id}/clearance"]["post"]["responses"]


def test_health_checks_database_broker_and_worker(client):
    from clinic_shared.heartbeat import Heartbeat
    from screening.store.tables import heartbeat

    response = client.get("/health")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "broker": "ok", "worker": "down"}
    Heartbeat(client.application.extensions["screening"].session_factory, heartbeat).beat()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"}


def test_health_reports_a_database_that_is_down(screening_settings):
    from screening import create_app

    app = create_app(screening_settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "down", "broker": "ok", "worker": "down"}
