"""Every error a service can give is in the contract's envelope."""
import io

import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from clinic_shared.datetimes import OffsetDateTime
from clinic_shared.errors import ApiError
from clinic_shared.request_guards import read_at_most
from clinic_shared.web import create_service_app


class ThingSchema(Schema):
    name = fields.String(required=True)
    start = OffsetDateTime(required=True)


@pytest.fixture
def client():
    app, api = create_service_app("test", "Test", {"database": lambda: True})
    blp = Blueprint("things", __name__, url_prefix="/api/things")

    @blp.route("")
    class Things(MethodView):
        @blp.arguments(ThingSchema)
        @blp.response(201, ThingSchema)
        def post(self, body):
            if body["name"] == "taken":
                raise ApiError(409, "slot_unavailable", "That slot was just taken.", {"slot": "x"})
            if body["name"] == "boom":
                raise RuntimeError("a bug")
            return body

    api.register_blueprint(blp)
    return app.test_client()


def envelope(response):
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_invalid_json_is_400(client):
    r = client.post("/api/things", data="{not json", content_type="application/json")
    assert r.status_code == 400 and envelope(r)["code"] == "bad_request"


def test_not_json_is_400(client):
    r = client.post("/api/things", data="name=x", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400 and envelope(r)["code"] == "bad_request"


def test_missing_fields_are_named(client):
    r = client.post("/api/things", json={"start": "2026-12-01T09:00:00Z"})
    error = envelope(r)
    assert r.status_code == 422 and error["code"] == "validation_error"
    assert list(error["details"]["fields"]) == ["name"]


def test_naive_datetime_is_timezone_required(client):
    r = client.post("/api/things", json={"name": "a", "start": "2026-12-01T09:00:00"})
    error = envelope(r)
    assert r.status_code == 422 and error["code"] == "timezone_required"
    assert "start" in error["details"]["fields"]


def test_garbage_datetime_is_validation_error(client):
    r = client.post("/api/things", json={"name": "a", "start": "next tuesday"})
    assert r.status_code == 422 and envelope(r)["code"] == "validation_error"


def test_api_error_keeps_its_code_and_details(client):
    r = client.post("/api/things", json={"name": "taken", "start": "2026-12-01T09:00:00+00:00"})
    assert r.status_code == 409 and envelope(r) == {
        "code": "slot_unavailable", "message": "That slot was just taken.", "details": {"slot": "x"}}


def test_unexpected_exception_is_500_without_traceback(client):
    r = client.post("/api/things", json={"name": "boom", "start": "2026-12-01T09:00:00+00:00"})
    assert r.status_code == 500 and envelope(r)["code"] == "internal_error"
    assert "Traceback" not in r.get_data(as_text=True)


def test_too_large_is_413(client):
    r = client.post("/api/things", data='{"name": "' + "x" * 70000 + '"}', content_type="application/json")
    assert r.status_code == 413 and envelope(r)["code"] == "payload_too_large"


def test_unknown_path_and_method(client):
    assert envelope(client.get("/api/nothing"))["code"] == "not_found"
    r = client.delete("/api/things")
    assert r.status_code == 405 and envelope(r)["code"] == "method_not_allowed"


def test_request_id_is_echoed_or_made(client):
    assert client.get("/health", headers={"X-Request-ID": "abc123"}).headers["X-Request-ID"] == "abc123"
    assert len(client.get("/health").headers["X-Request-ID"]) == 32


def test_openapi_document_uses_the_envelope(client):
    spec = client.get("/openapi.json").get_json()
    assert "/api/things" in spec["paths"]
    assert "error" in spec["components"]["schemas"]["ErrorEnvelope"]["properties"]


def test_nul_characters_never_reach_a_handler(client):
    assert envelope(client.get("/api/things/%00"))["code"] == "not_found"
    r = client.get("/health?x=%00")
    assert r.status_code == 422 and envelope(r)["details"]["fields"] == {"x": ["Must not contain a NUL character."]}
    r = client.post("/api/things", json={"name": "a\x00b", "start": "2026-12-01T09:00:00Z"})
    assert r.status_code == 422 and list(envelope(r)["details"]["fields"]) == ["name"]


def test_json_nested_too_deep_is_400(client):
    r = client.post("/api/things", data="[" * 5000 + "]" * 5000, content_type="application/json")
    assert r.status_code == 400 and envelope(r)["code"] == "bad_request"


def chunked_post(client, body: bytes):
    return client.post("/api/things", input_stream=io.BytesIO(body),
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})


def test_chunked_body_over_the_limit_is_413(client):
    r = chunked_post(client, b'{"name": "' + b"x" * 70_000 + b'"}')
    assert r.status_code == 413 and envelope(r)["code"] == "payload_too_large"


def test_chunked_body_under_the_limit_arrives_whole(client):
    r = chunked_post(client, b'{"name": "' + b"x" * 60_000 + b'", "start": "2026-12-01T09:00:00Z"}')
    assert r.status_code == 201 and len(r.get_json()["name"]) == 60_000


def test_read_at_most_stops_one_past_the_limit():
    assert read_at_most(io.BytesIO(b"a" * 100_000), 65_537) == b"a" * 65_537
    assert read_at_most(io.BytesIO(b"abc"), 10) == b"abc"
