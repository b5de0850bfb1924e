"""Real HTTP upstreams for the gateway's tests: small Flask apps served on free local ports."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from clinic_shared.settings import SERVICES
from clinic_shared.testing import free_port, missing_backend

from gateway import create_app
from gateway.settings import load_gateway_settings


@pytest.fixture(scope="session")
def run_node():
    """run_node(*arguments) -> what the node script printed, as JSON. Without node (Debian's `nodejs` package)
    the tests using it skip, or fail under CLINIC_REQUIRE_BACKENDS=1 (CI)."""
    node = shutil.which("node")
    if node is None:
        missing_backend("node (Debian's nodejs package)", "is not installed")

    def run(*arguments: str):
        finished = subprocess.run([node, *arguments], capture_output=True, text=True, timeout=30)
        assert finished.returncode == 0, finished.stderr
        return json.loads(finished.stdout)

    return run


@pytest.fixture
def serve():
    """serve(wsgi_app) -> base URL of a real HTTP server running it in a thread."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def echo_service(name: str, openapi: dict | None = None, healthy: bool = True, delay: float = 0.0) -> Flask:
    """An upstream that answers every request with what it received.

    The query string chooses the answer: `respond_status`, `retry_after`, `location`, `plain=1`,
    `error_code` (answer in the error envelope).
    """
    app = Flask(f"echo_{name}")
    app.received = []

    @app.before_request
    def _slow():
        time.sleep(delay)  # a service that answers too late, health and OpenAPI included

    @app.get("/health")
    def health():
        return jsonify({"status": "ok" if healthy else "down"}), (200 if healthy else 503)

    @app.get("/openapi.json")
    def openapi_json():
        if openapi is None:
            return "not here", 404
        return jsonify(openapi)

    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(rest):
        seen = {"service": name, "method": request.method, "path": request.path,
                "query": request.query_string.decode(), "body": request.get_data(as_text=True),
                "headers": dict(request.headers)}
        app.received.append(seen)
        status = int(request.args.get("respond_status", 200))
        if request.args.get("plain"):
            return "upstream exploded", status, {"Content-Type": "text/plain"}
        if request.args.get("error_code"):  # an upstream error in the contract's envelope
            seen = {"error": {"code": request.args["error_code"], "message": f"from {name}", "details": {}}}
        response = jsonify(seen)
        response.status_code = status
        response.headers["X-Internal-Secret"] = "do not leak"
        for arg, header in (("retry_after", "Retry-After"), ("location", "Location")):
            if arg in request.args:
                response.headers[header] = request.args[arg]
        return response

    return app


@pytest.fixture
def gateway_settings(tmp_path):
    def make(urls: dict[str, str], rate_limit: str = "off", **extra: str):
        environ = {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_RATE_LIMIT": rate_limit, **extra}
        environ.update({f"CLINIC_{name.upper()}_URL": url for name, url in urls.items()})
        return load_gateway_settings(environ)

    return make


@pytest.fixture
def services(serve):
    """An echo service up for each service behind the gateway; returns {name: (app, url)}."""
    apps = {name: echo_service(name) for name in SERVICES}
    return {name: (app, serve(app)) for name, app in apps.items()}


@pytest.fixture
def client(services, gateway_settings):
    app = create_app(gateway_settings({name: url for name, (_, url) in services.items()}))
    return app.test_client()


@pytest.fixture
def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture
def echo():
    return echo_service
