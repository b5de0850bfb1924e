"""GET /api/health asks every service's /health."""
from gateway import create_app


def test_all_services_up(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok",
                                   "services": {"screening": "ok", "booking": "ok", "notifications": "ok",
                                                "staff": "ok"}}


def test_a_closed_port_and_an_unhealthy_service_are_marked_down(serve, echo, services, gateway_settings, closed_url):
    urls = {name: url for name, (_, url) in services.items()}
    urls["booking"] = closed_url
    urls["notifications"] = serve(echo("notifications", healthy=False))
    response = create_app(gateway_settings(urls)).test_client().get("/api/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["services"] == {"screening": "ok", "booking": "down", "notifications": "down", "staff": "ok"}
    assert body["status"] == "degraded"
    assert body["error"]["code"] == "service_unavailable"
    assert body["error"]["details"] == {"services": ["booking", "notifications"]}


def test_a_slow_health_check_is_down_not_a_hang(serve, echo, services, gateway_settings):
    urls = {name: url for name, (_, url) in services.items()}
    urls["screening"] = serve(echo("screening", delay=3.0))
    app = create_app(gateway_settings(urls))
    app.extensions["gateway.upstreams"].probe_timeout = (0.5, 0.3)
    response = app.test_client().get("/api/health")
    assert response.status_code == 503
    assert response.get_json()["services"]["screening"] == "down"
