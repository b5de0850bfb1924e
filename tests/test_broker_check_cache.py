"""/health asks for the broker at most once a second per process, however often it is asked: connections
to RabbitMQ counted at a TCP proxy in front of it, behind a real service and the gateway."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from clinic_shared.broker import BROKER_CHECK_SECONDS, broker_ok
from clinic_shared.migrations import upgrade
from clinic_shared.settings import load_settings
from clinic_shared.testing import free_port
from clinic_shared.tcp_proxy import TcpProxy


@pytest.fixture
def proxied_broker(amqp_url):
    """(broker URL through a proxy that counts connections, the proxy)."""
    upstream = urlsplit(amqp_url)
    proxy = TcpProxy(upstream.hostname, upstream.port or 5672, free_port()).start()
    yield amqp_url.replace(upstream.netloc.rsplit("@", 1)[-1], f"127.0.0.1:{proxy.port}"), proxy
    proxy.cut()


def settings_for(service: str, tmp_path, broker_url: str, **extra):
    return load_settings(service, {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_BROKER_URL": broker_url,
                                   "CLINIC_STAFF_TOKEN": "staff", "CLINIC_SECRET_KEY": "secret",
                                   "CLINIC_RATE_LIMIT": "off", **extra})


def test_callers_within_a_second_share_one_connection(proxied_broker, tmp_path):
    broker_url, proxy = proxied_broker
    settings = settings_for("booking", tmp_path, broker_url)
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda _: broker_ok(settings), range(16))) == [True] * 16
    assert broker_ok(settings) is True
    assert proxy.accepted == 1

    time.sleep(BROKER_CHECK_SECONDS + 0.1)
    assert broker_ok(settings) is True
    assert proxy.accepted == 2  # an answer older than a second is asked again


def test_the_gateway_health_does_not_connect_to_the_broker_per_call(proxied_broker, tmp_path):
    from gateway import create_app as create_gateway
    from screening import create_app as create_screening
    from screening.settings import ScreeningSettings

    broker_url, proxy = proxied_broker
    database_url = f"sqlite:///{tmp_path / 'screening.db'}"
    upgrade("screening", database_url)
    screening = create_screening(ScreeningSettings(base=settings_for(
        "screening", tmp_path, broker_url, CLINIC_SCREENING_DATABASE_URL=database_url)))
    server = make_server("127.0.0.1", free_port(), screening, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        gateway = create_gateway(settings_for("gateway", tmp_path, broker_url, **{
            f"CLINIC_{name}_URL": url for name in ("SCREENING", "BOOKING", "NOTIFICATIONS", "STAFF")})).test_client()

        answers = [gateway.get("/api/health") for _ in range(3)]  # twelve /health calls behind them
        assert [a.get_json()["services"] for a in answers] == [{"screening": "down", "booking": "down",
                                                                "notifications": "down",
                                                                "staff": "down"}] * 3  # no worker beats
        assert screening.test_client().get("/health").get_json()["checks"]["broker"] == "ok"
        assert proxy.accepted == 1
    finally:
        server.shutdown()
        server.server_close()
