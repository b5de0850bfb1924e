"""Guards at the edge: a NUL character (PostgreSQL text cannot hold it) and JSON nested too deeply never reach a service."""
import json

import pytest

from clinic_shared.request_guards import nul_field


def test_nul_field_finds_the_first_offending_key_or_string():
    assert nul_field({"client": {"name": "Ada", "email": "a\x00@b.c"}}) == "client.email"
    assert nul_field({"areas": ["face", "ne\x00ck"]}) == "areas.1"
    assert nul_field({"answers": {"x\x00": True}}) == "answers.x\x00"
    assert nul_field("\x00") == "body"
    assert nul_field({"name": "Ada", "n": 1, "ok": True, "none": None, "list": [1.5, {"a": "b"}]}) is None
    assert nul_field(None) is None


def test_a_nul_in_a_path_is_not_found(client, services):
    response = client.get("/api/screenings/%00")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert all(not app.received for app, _ in services.values())


@pytest.mark.parametrize("query, field", [("booking_id=%00", "booking_id"), ("date=2027-01-05&areas=fa%00ce", "areas")])
def test_a_nul_in_a_query_names_the_parameter(client, services, query, field):
    response = client.get(f"/api/notifications?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]["fields"]
    assert all(not app.received for app, _ in services.values())


def test_a_nul_in_a_json_string_names_the_field(client, services):
    body = json.dumps({"screening_id": "s1", "areas": ["face"], "reason": "x\u0000y"})
    response = client.post("/api/bookings", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"] == {"reason": ["Must not contain a NUL character."]}
    assert all(not app.received for app, _ in services.values())


def test_a_nul_in_utf16_json_names_the_field_too(client, services):
    # A NUL is looked for only where one can be (the escape \u0000 or a raw NUL byte): UTF-16 JSON is walked.
    body = json.dumps({"reason": "x\u0000y"}, ensure_ascii=False).encode("utf-16")
    response = client.post("/api/bookings", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"]["fields"] == {"reason": ["Must not contain a NUL character."]}
    assert all(not app.received for app, _ in services.values())


def test_ordinary_requests_still_pass(client):
    assert client.get("/api/notifications?booking_id=b1").status_code == 200
    assert client.post("/api/bookings", json={"reason": "a\\u0000 written out is fine"}).status_code == 200


def test_a_body_nested_too_deeply_is_a_bad_request_not_a_crash(client, services):
    body = "[" * 30_000 + "]" * 30_000  # under 64 KiB, far deeper than the parser recurses
    response = client.post("/api/screenings", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"
    assert all(not app.received for app, _ in services.values())
