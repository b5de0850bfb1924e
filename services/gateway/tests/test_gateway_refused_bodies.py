"""A body refused with 413 leaves the client's connection usable: raw sockets against the gateway.

Under gunicorn (the gateway's server in production) the 413 announced keep-alive, gunicorn then found the
body unread, and the next request on that connection went unanswered. Werkzeug's server honours the
413's `Connection: close` instead.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from http.client import HTTPResponse

import pytest

from clinic_shared.testing import free_port

from gateway import create_app

BIG = 200 * 1024  # well over the 64 KiB limit, and over what gunicorn drains by itself


@pytest.fixture(params=["gunicorn", "werkzeug"])
def gateway_port(request, services, gateway_settings, serve):
    """(port, what follows the 413): gunicorn drops the app's `Connection: close` and keeps the connection
    (0 here means the connection was closed as announced)."""
    if request.param == "gunicorn":
        return request.getfixturevalue("gunicorn_gateway"), 200
    app = create_app(gateway_settings({name: url for name, (_, url) in services.items()}))
    return int(serve(app).rsplit(":", 1)[1]), 0


@pytest.fixture
def gunicorn_gateway(services, tmp_path):
    port = free_port()
    environ = {**os.environ, "CLINIC_DATA_DIR": str(tmp_path), "CLINIC_RATE_LIMIT": "off",
               **{f"CLINIC_{name.upper()}_URL": url for name, (_, url) in services.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
         "-c", "python:clinic_shared.gunicorn_conf", "--name", "gateway", "gateway:create_app()"],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the gateway did not start under gunicorn")
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=20)


def read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    response = HTTPResponse(sock)
    response.begin()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def send_then_get(port: int, first: bytes) -> tuple[int, int]:
    """Send `first` and read its answer, then a GET on the same connection: (first status, GET status)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        status, headers, _ = read_response(sock)
        if headers.get("connection", "").lower() == "close":
            assert sock.recv(1) == b""  # announced, so closed: nothing more comes
            return status, 0
        sock.sendall(b"GET /api/availability?date=2026-12-01 HTTP/1.1\r\nHost: gateway\r\n\r\n")
        second, _, body = read_response(sock)
        assert b'"service": "booking"' in body or b'"service":"booking"' in body
        return status, second


def test_a_body_over_the_limit_is_refused_and_the_connection_stays_in_step(gateway_port):
    body = b"{" + b" " * BIG + b"}"
    request = (b"POST /api/bookings HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    port, then = gateway_port
    assert send_then_get(port, request) == (413, then)


def test_a_chunked_body_over_the_limit_is_refused_and_the_connection_stays_in_step(gateway_port):
    chunk = b" " * 16384
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(BIG // len(chunk)))
    request = (b"POST /api/bookings HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n") + chunks + b"0\r\n\r\n"
    port, then = gateway_port
    assert send_then_get(port, request) == (413, then)
