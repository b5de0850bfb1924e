"""What the gateway passes on, what it returns, and how it fails when a service does not answer."""
import json

import pytest
import requests

from gateway import create_app


def test_body_and_the_headers_that_matter_are_forwarded(client):
    body = json.dumps({"screening_id": "s1", "start": "2026-12-01T09:00:00+00:00"})
    response = client.post("/api/bookings", data=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer tok-1", "Idempotency-Key": "key-1",
        "If-Match": '"3"', "Cookie": "session=1", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    seen = response.get_json()
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == json.loads(body)
    headers = seen["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer tok-1"
    assert headers["Idempotency-Key"] == "key-1" and headers["If-Match"] == '"3"'
    assert "Cookie" not in headers and "X-Forwarded-Host" not in headers


def test_status_and_selected_response_headers_come_back(client):
    response = client.post("/api/bookings?respond_status=409&retry_after=2&error_code=screening_pending", json={})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "screening_pending"
    assert response.headers["Retry-After"] == "2"
    assert response.headers["Content-Type"] == "application/json"
    assert "X-Internal-Secret" not in response.headers

    created = client.post("/api/screenings?respond_status=201&location=/api/screenings/s9", json={})
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/api/screenings/s9")


def test_an_error_that_is_not_an_envelope_becomes_one(client):
    response = client.get("/api/treatments?respond_status=502&plain=1")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"]


def test_an_enveloped_error_is_passed_through_unchanged(client):
    response = client.post("/api/bookings?respond_status=422&error_code=treatment_spacing", json={})
    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": "treatment_spacing", "message": "from booking", "details": {}}}


def test_client_request_id_is_forwarded_and_echoed(client):
    response = client.get("/api/treatments", headers={"X-Request-ID": "web-1234.abc"})
    assert response.headers["X-Request-ID"] == "web-1234.abc"
    assert response.get_json()["headers"]["X-Request-Id"] == "web-1234.abc"


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "<script>", "-leading-dash"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    response = client.get("/api/treatments", headers=headers)
    echoed = response.headers["X-Request-ID"]
    assert echoed and echoed != sent
    assert response.get_json()["headers"]["X-Request-Id"] == echoed


def test_gateway_errors_carry_a_request_id_too(client):
    response = client.get("/api/nope", headers={"X-Request-ID": "abc-1"})
    assert response.headers["X-Request-ID"] == "abc-1"


def test_a_closed_port_is_503_naming_the_service(services, gateway_settings, closed_url):
    urls = {name: url for name, (_, url) in services.items()}
    urls["booking"] = closed_url
    client = create_app(gateway_settings(urls)).test_client()
    response = client.post("/api/bookings", json={"start": "x"})
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["details"] == {"service": "booking"}
    assert "booking" in error["message"]
    assert client.get("/api/screenings/s1").status_code == 200  # the others still answer


def test_a_service_that_does_not_answer_in_time_is_503(serve, echo, services, gateway_settings):
    urls = {name: url for name, (_, url) in services.items()}
    urls["notifications"] = serve(echo("notifications", delay=2.0))
    client = create_app(gateway_settings(urls), upstream_timeout=(1.0, 0.3)).test_client()
    response = client.get("/api/notifications?booking_id=b1")
    assert response.status_code == 503
    assert response.get_json()["error"]["details"] == {"service": "notifications"}


def test_a_body_over_64_kib_is_413_and_not_forwarded(client, services):
    padding = "x" * (64 * 1024)
    response = client.post("/api/screenings", data=json.dumps({"pad": padding}), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert services["screening"][0].received == []


def test_a_body_of_exactly_64_kib_is_forwarded(client):
    body = json.dumps({"pad": ""})
    body = json.dumps({"pad": "x" * (64 * 1024 - len(body))})
    assert len(body) == 64 * 1024
    response = client.post("/api/screenings", data=body, content_type="application/json")
    assert response.status_code == 200
    assert len(response.get_json()["body"]) == 64 * 1024


def test_a_body_that_is_not_json_is_400(client, services):
    response = client.post("/api/screenings", data="name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert services["screening"][0].received == []


def test_over_real_http(serve, services, gateway_settings):
    gateway_url = serve(create_app(gateway_settings({n: u for n, (_, u) in services.items()})))
    response = requests.get(gateway_url + "/api/practitioners", headers={"X-Request-ID": "r-1"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "r-1"
    assert response.json()["service"] == "booking"
    big = requests.post(gateway_url + "/api/bookings", data=b"{" + b" " * (70 * 1024) + b"}",
                        headers={"Content-Type": "application/json"}, timeout=5)
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"


def test_settings_can_be_overridden_in_create_app(services, gateway_settings, closed_url):
    urls = {name: url for name, (_, url) in services.items()}
    client = create_app(gateway_settings({"booking": closed_url}), service_urls=urls,
                        rate_limit="1/minute").test_client()
    assert client.get("/api/treatments").get_json()["service"] == "booking"
    assert client.get("/api/treatments").status_code == 429


@pytest.mark.parametrize("method,path,body,content_type", [
    ("POST", "/api/bookings", b"{not json", "application/json"),
    ("POST", "/api/bookings", b"\xff\xfe\x00", "application/json"),
    ("POST", "/api/bookings", b"<xml/>", "text/xml"),
    ("PUT", "/api/screenings/x", b"[", "application/json"),
    ("GET", "/api/%00", b"", None),
    ("GET", "/api/bookings?%zz=%%", b"", None),
    ("DELETE", "/api/nothing/here", b"", None),
    ("POST", "/api/health", b"{}", "application/json"),
    ("PATCH", "/", b"{}", "application/json"),
    ("GET", "/static/../gateway/__init__.py", b"", None),
])
def test_malformed_requests_get_an_envelope_never_a_500(client, method, path, body, content_type):
    response = client.open(path, method=method, data=body, content_type=content_type)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "details"}


def test_proxy_variables_of_the_environment_do_not_reroute_calls_to_the_services(client, monkeypatch, closed_url):
    # The services are ours: a proxy set for the machine's outbound traffic must not sit between them.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, closed_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert client.get("/api/treatments").status_code == 200
