"""A kept-alive connection the service closed: an idempotent request is answered, a POST is never sent twice.

The upstream is a real HTTP/1.1 server that keeps connections alive for one request only: when the next
request arrives on a connection it already answered, it reads it and closes the connection unanswered --
what a service's keep-alive timeout does when it fires just as the gateway reuses the connection.
"""
from __future__ import annotations

import json
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway import create_app


class ClosesReusedConnections(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn
    received: list  # (method, path, connection's nth request), set per server

    def _serve(self):
        self.answered = getattr(self, "answered", 0)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.command, self.path, self.answered + 1))
        if self.answered:  # a reused connection: closed under the request
            self.close_connection = True
            return
        self.answered += 1
        payload = json.dumps({"method": self.command, "body": body.decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, *args):
        pass


@pytest.fixture
def closing_upstream():
    received: list = []
    handler = type("Handler", (ClosesReusedConnections,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(closing_upstream, services, gateway_settings):
    url, _ = closing_upstream
    urls = {name: service_url for name, (_, service_url) in services.items()}
    urls["booking"] = url
    return create_app(gateway_settings(urls)).test_client()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_idempotent_request_on_a_closed_connection_is_sent_again_and_answered(gateway, closing_upstream, method):
    _, received = closing_upstream
    assert gateway.get("/api/availability").status_code == 200  # the connection is now kept alive

    response = gateway.open("/api/closures/2026-12-01", method=method)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["method"] == method
    # once on the reused connection (closed unanswered), once more on a new one
    assert received[1:] == [(method, "/api/closures/2026-12-01", 2), (method, "/api/closures/2026-12-01", 1)]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_request_that_may_have_reached_the_service_is_not_sent_twice(gateway, closing_upstream, method):
    _, received = closing_upstream
    assert gateway.get("/api/availability").status_code == 200

    response = gateway.open("/api/bookings", method=method, json={"start": "2026-12-01T09:00:00+00:00"})

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert [r for r in received if r[0] == method] == [(method, "/api/bookings", 2)]  # arrived once, never again


def test_a_post_on_a_fresh_connection_after_a_close_is_answered(gateway, closing_upstream):
    _, received = closing_upstream
    response = gateway.post("/api/bookings", json={"start": "x"})
    assert response.status_code == 200
    assert received == [("POST", "/api/bookings", 1)]


def test_a_slow_answer_is_not_asked_for_twice(serve, echo, services, gateway_settings):
    slow = echo("booking", delay=0.6)
    urls = {name: service_url for name, (_, service_url) in services.items()}
    urls["booking"] = serve(slow)
    gateway = create_app(gateway_settings(urls), upstream_timeout=(1.0, 0.2)).test_client()

    assert gateway.get("/api/availability").status_code == 503
    time.sleep(1.5)  # both tries would have arrived by now
    assert [seen["method"] for seen in slow.received] == ["GET"]
