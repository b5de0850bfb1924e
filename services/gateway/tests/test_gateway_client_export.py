"""GET /api/clients/{id}/export: the gateway asks each service's own export and puts the answers together.

The services are echo apps served over real HTTP (conftest); the one for a part of the export answers
`/internal/clients/{id}/export` with its keys, or with the status the test chooses.
"""
from __future__ import annotations

import json

import pytest
from flask import Flask, jsonify, request

from gateway import create_app
from gateway.client_export import combine_exports

PARTS = {"screening": {"client": {"id": "c1", "name": "N", "email": "e@x", "phone": None}, "screenings": [{"id": "s"}]},
         "booking": {"bookings": [{"id": "b"}], "courses": [], "waitlist": []},
         "notifications": {"notifications": [{"id": "n"}]}}


def part_service(name: str, status: int = 200, error_code: str = "not_found") -> Flask:
    app = Flask(f"export_{name}")
    app.received = []

    @app.get("/internal/clients/<client_id>/export")
    def export(client_id):
        app.received.append({"client_id": client_id, "headers": dict(request.headers)})
        if status != 200:
            return jsonify({"error": {"code": error_code, "message": name, "details": {}}}), status
        return jsonify(PARTS[name])

    @app.get("/health")
    def health():
        return jsonify({})

    return app


@pytest.fixture
def gateway(serve, gateway_settings, echo):
    def make(statuses: dict | None = None, down: tuple = ()):
        statuses = statuses or {}
        apps, urls = {}, {}
        for name in ("screening", "booking", "notifications", "staff"):
            if name in down:
                urls[name] = "http://127.0.0.1:9"  # nothing listens there
                continue
            apps[name] = part_service(name, *statuses.get(name, (200,))) if name in PARTS else echo(name)
            urls[name] = serve(apps[name])
        return create_app(gateway_settings(urls)).test_client(), apps
    return make


def test_the_export_puts_every_services_part_together_and_passes_the_token_on(gateway):
    client, apps = gateway()
    response = client.get("/api/clients/c1/export", headers={"Authorization": "Bearer tok", "X-Request-ID": "rq-1"})
    assert response.status_code == 200, response.json
    assert response.json == {**PARTS["screening"], **PARTS["booking"], **PARTS["notifications"]}
    for name in PARTS:
        (seen,) = apps[name].received
        assert seen["client_id"] == "c1"
        assert seen["headers"]["Authorization"] == "Bearer tok"
        assert seen["headers"]["X-Request-Id"] == "rq-1"
    assert apps["staff"].received == []  # the gateway's own route: nothing forwarded


@pytest.mark.parametrize("statuses, expected", [
    ({"screening": (404, "not_found")}, (404, "not_found")),          # never screened, or erased
    ({"screening": (401, "unauthorized")}, (401, "unauthorized")),    # e.g. an erased client's token
    ({"booking": (403, "forbidden")}, (403, "forbidden")),            # staff without the admin role
    ({"screening": (404, "not_found"), "booking": (403, "forbidden")}, (404, "not_found")),  # screening's first
    ({"notifications": (500, "internal_error")}, (503, "service_unavailable")),
])
def test_a_refusal_of_a_service_is_the_answer(gateway, statuses, expected):
    client, _ = gateway(statuses)
    response = client.get("/api/clients/c1/export", headers={"Authorization": "Bearer tok"})
    assert (response.status_code, response.json["error"]["code"]) == expected


def test_a_service_that_does_not_answer_makes_the_export_503_never_a_partial_one(gateway):
    client, _ = gateway(down=("booking",))
    response = client.get("/api/clients/c1/export", headers={"Authorization": "Bearer tok"})
    assert response.status_code == 503
    assert response.json["error"] == {"code": "service_unavailable", "details": {"service": "booking"},
                                      "message": response.json["error"]["message"]}


def test_combine_exports_rules():
    ok = {name: (200, json.dumps(body).encode()) for name, body in PARTS.items()}
    assert set(combine_exports(ok)) == {"client", "screenings", "bookings", "courses", "notifications", "waitlist"}
    with pytest.raises(Exception) as refused:
        combine_exports({**ok, "booking": (404, b"not json")})
    assert refused.value.status == 503  # an answer that is not the envelope is not passed on as if it were
    with pytest.raises(Exception) as missing:
        combine_exports({**ok, "notifications": None})
    assert missing.value.status == 503


def test_the_erasure_path_goes_to_the_screening_service_and_both_are_documented(services, gateway_settings):
    client = create_app(gateway_settings({name: url for name, (_, url) in services.items()})).test_client()
    response = client.post("/api/clients/c1/erasure", headers={"Authorization": "Bearer tok"})
    assert response.json["service"] == "screening" and response.json["path"] == "/api/clients/c1/erasure"
    spec = client.get("/api/openapi.json").json
    assert "get" in spec["paths"]["/api/clients/{client_id}/export"]


def test_another_method_on_the_export_is_405_and_no_service_hears_of_it(gateway):
    client, apps = gateway()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.open("/api/clients/c1/export", method=method)
        assert response.status_code == 405, method
        assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "OPTIONS"]
    assert all(app.received == [] for name, app in apps.items() if name in PARTS)
