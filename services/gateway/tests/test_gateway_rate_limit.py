"""The rate limit: the setting, flask-limiter applying it per address and per token, in memory and in a
shared Redis, and the client address behind trusted proxies (ProxyFix)."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from clinic_shared.testing import free_port

from gateway import create_app
from gateway.limiting import bearer_key
from gateway.rate_limit import Rate, parse_rate, retry_after_header
from gateway.settings import load_gateway_settings, parse_trusted_proxies


@pytest.mark.parametrize("text,rate", [
    ("120/minute", Rate(120, "minute")), ("5/second", Rate(5, "second")), ("1/hour", Rate(1, "hour")),
    (" 10/Minute ", Rate(10, "minute")), ("off", None), ("OFF", None),
])
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "10/day", "0/minute", "-1/second", "x/minute", "10/", "/minute",
                                  "10/minute/2", "1.5/second", "10 / minute", "10 per minute"])
def test_parse_rate_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_a_rate_reads_as_flask_limiter_expects():
    assert Rate(120, "minute").text == "120/minute"


@pytest.mark.parametrize("seconds,header", [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.9, "60"), (-3, "1")])
def test_retry_after_header_is_whole_seconds_rounded_up(seconds, header):
    assert retry_after_header(seconds) == header


def test_bearer_key():
    assert bearer_key(None) == "" and bearer_key("Basic abc") == "" and bearer_key("Bearer  ") == ""
    key = bearer_key("Bearer secret-token")
    assert key.startswith("token:") and "secret-token" not in key
    assert bearer_key("bearer secret-token") == key
    assert bearer_key("Bearer other-token") != key


@pytest.mark.parametrize("text,count", [("0", 0), ("1", 1), (" 2 ", 2)])
def test_trusted_proxies(text, count):
    assert parse_trusted_proxies(text) == count


@pytest.mark.parametrize("text", ["-1", "one", "1.5", ""])
def test_trusted_proxies_refuses_anything_else(text):
    with pytest.raises(ValueError, match="CLINIC_TRUSTED_PROXIES"):
        parse_trusted_proxies(text)


def test_gateway_settings_from_the_environment(tmp_path):
    defaults = load_gateway_settings({"CLINIC_DATA_DIR": str(tmp_path)})
    assert (defaults.redis_url, defaults.trusted_proxies) == (None, 0)
    set_ = load_gateway_settings({"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_REDIS_URL": "redis://r:6379/1",
                                  "CLINIC_TRUSTED_PROXIES": "2"})
    assert (set_.redis_url, set_.trusted_proxies) == ("redis://r:6379/1", 2)


@pytest.fixture
def limited(services, gateway_settings):
    def make(rate, **extra):
        settings = gateway_settings({n: u for n, (_, u) in services.items()}, rate_limit=rate, **extra)
        return create_app(settings).test_client()
    return make


def from_address(address):
    return {"REMOTE_ADDR": address}


def refused_properly(response, period_seconds):
    """A 429 in the contract's envelope, waiting at most the period (the oldest request leaves the window)."""
    body = response.get_json()["error"]
    retry_after = int(response.headers["Retry-After"])
    assert response.status_code == 429 and body["code"] == "rate_limited"
    assert body["details"] == {"retry_after_seconds": retry_after}
    assert 1 <= retry_after <= period_seconds
    return retry_after


def test_gateway_limits_per_address(limited):
    client = limited("3/minute")
    for _ in range(3):
        assert client.get("/api/treatments", environ_base=from_address("10.0.0.1")).status_code == 200
    refused = client.get("/api/treatments", environ_base=from_address("10.0.0.1"))
    assert refused_properly(refused, 60) > 50  # the first of the three left the window only a moment ago
    assert client.get("/api/treatments", environ_base=from_address("10.0.0.2")).status_code == 200


def test_gateway_limits_per_token_across_addresses(limited):
    client = limited("2/hour")
    token = {"Authorization": "Bearer the-token"}
    assert client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.1")).status_code == 200
    assert client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.2")).status_code == 200
    refused = client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.3"))
    assert refused_properly(refused, 3600) > 3500
    assert client.get("/api/bookings", environ_base=from_address("10.0.0.3")).status_code == 200


def test_all_api_paths_share_the_count(limited):
    client = limited("2/minute")
    assert client.get("/api/treatments").status_code == 200
    assert client.post("/api/screenings", json={}).status_code == 200
    assert client.get("/api/notifications").status_code == 429


def test_refused_requests_are_not_forwarded(limited, services):
    client = limited("1/minute")
    client.post("/api/screenings", json={})
    assert client.post("/api/screenings", json={}).status_code == 429
    assert len(services["screening"][0].received) == 1


def test_health_and_the_page_are_not_limited(limited):
    client = limited("1/minute")
    assert [client.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]


def test_off_means_no_limit(limited):
    client = limited("off")
    assert {client.get("/api/treatments").status_code for _ in range(50)} == {200}


def test_a_bad_setting_stops_the_start(gateway_settings, closed_url):
    with pytest.raises(ValueError, match="CLINIC_RATE_LIMIT"):
        create_app(gateway_settings({"booking": closed_url}, rate_limit="lots"))


def test_concurrent_requests_never_get_more_than_n(limited):
    client = limited("30/hour")
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: client.get("/api/treatments").status_code, range(120)))
    assert statuses.count(200) == 30 and statuses.count(429) == 90


# ----- behind proxies ----------------------------------------------------------------------------------

def via_proxy(forwarded_for):
    return {"environ_base": from_address("192.168.0.1"), "headers": {"X-Forwarded-For": forwarded_for}}


def test_trusting_one_proxy_keys_on_the_last_hop_of_x_forwarded_for(limited):
    client = limited("1/minute", CLINIC_TRUSTED_PROXIES="1")
    assert client.get("/api/treatments", **via_proxy("1.1.1.1, 10.0.0.1")).status_code == 200
    # What the client itself wrote before the proxy's hop is not believed: same last hop, same client.
    assert client.get("/api/treatments", **via_proxy("2.2.2.2, 10.0.0.1")).status_code == 429
    assert client.get("/api/treatments", **via_proxy("10.0.0.2")).status_code == 200


def test_trusting_no_proxy_ignores_x_forwarded_for(limited):
    client = limited("1/minute")
    assert client.get("/api/treatments", **via_proxy("10.0.0.1")).status_code == 200
    assert client.get("/api/treatments", **via_proxy("10.0.0.2")).status_code == 429  # the same peer


def test_the_forwarded_address_reaches_the_limit_through_a_real_proxy_chain(limited):
    client = limited("1/minute", CLINIC_TRUSTED_PROXIES="2")
    assert client.get("/api/treatments", **via_proxy("10.0.0.1, 172.16.0.1")).status_code == 200
    assert client.get("/api/treatments", **via_proxy("10.0.0.2, 172.16.0.1")).status_code == 200
    assert client.get("/api/treatments", **via_proxy("9.9.9.9, 10.0.0.1, 172.16.0.1")).status_code == 429


# ----- shared in Redis -----------------------------------------------------------------------------------

@pytest.fixture
def shared_limit(redis_url, limited):
    """make(rate) -> a gateway app counting in the local Redis under this test's own key prefix (or `prefix`)."""
    prefixes = [f"clinic-test-{uuid.uuid4().hex[:10]}"]

    def make(rate, prefix=prefixes[0]):
        prefixes.append(prefix)
        return limited(rate, CLINIC_REDIS_URL=redis_url, CLINIC_TOPOLOGY_PREFIX=prefix)

    yield make
    store = redis.Redis.from_url(redis_url)
    for prefix in set(prefixes):
        keys = list(store.scan_iter(match=f"*{prefix}-gateway/*"))
        if keys:
            store.delete(*keys)


def test_two_gateways_sharing_redis_share_one_limit(shared_limit):
    first, second = shared_limit("3/minute"), shared_limit("3/minute")
    assert first.get("/api/treatments").status_code == 200
    assert second.get("/api/treatments").status_code == 200
    assert first.get("/api/treatments").status_code == 200
    refused_properly(second.get("/api/treatments"), 60)
    refused_properly(first.get("/api/treatments"), 60)
    assert first.get("/api/treatments", environ_base=from_address("10.0.0.9")).status_code == 200


def test_another_deployment_on_the_same_redis_counts_apart(shared_limit):
    ours = shared_limit("1/minute")
    theirs = shared_limit("1/minute", prefix=f"clinic-test-{uuid.uuid4().hex[:10]}")
    assert ours.get("/api/treatments").status_code == 200
    assert theirs.get("/api/treatments").status_code == 200
    assert ours.get("/api/treatments").status_code == 429


def test_concurrent_requests_through_two_gateways_never_get_more_than_n(shared_limit):
    clients = [shared_limit("30/hour"), shared_limit("30/hour")]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: clients[i % 2].get("/api/treatments").status_code, range(120)))
    assert statuses.count(200) == 30 and statuses.count(429) == 90


def test_an_unreachable_redis_counts_in_memory_instead_of_failing(limited):
    client = limited("2/minute", CLINIC_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert [client.get("/api/treatments").status_code for _ in range(3)] == [200, 200, 429]


def test_gunicorn_workers_sharing_redis_allow_n_in_all(echo, serve, redis_url, tmp_path):
    """Three gunicorn worker processes (sync: each takes one request at a time, and the upstream is slow, so
    concurrent requests spread over them) count in one Redis: N pass in all, not N per process."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import requests

    from clinic_shared.settings import SERVICES

    urls = {name: serve(echo(name, delay=0.3)) for name in SERVICES}
    port, prefix = free_port(), f"clinic-test-{uuid.uuid4().hex[:10]}"
    environ = {**os.environ, "CLINIC_DATA_DIR": str(tmp_path), "CLINIC_RATE_LIMIT": "6/hour",
               "CLINIC_REDIS_URL": redis_url, "CLINIC_TOPOLOGY_PREFIX": prefix,
               **{f"CLINIC_{name.upper()}_URL": url for name, url in urls.items()}}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "3",
         "-c", "python:clinic_shared.gunicorn_conf", "--name", "gateway", "gateway:create_app()"],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/api/treatments"
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda _: requests.get(url, timeout=30).status_code, range(24)))
        assert statuses.count(200) == 6 and statuses.count(429) == 18
    finally:
        process.terminate()
        process.wait(timeout=30)
        store = redis.Redis.from_url(redis_url)
        keys = list(store.scan_iter(match=f"*{prefix}-gateway/*"))
        if keys:
            store.delete(*keys)


# ----- sign-in links -------------------------------------------------------------------------------------

@pytest.fixture
def sign_in_limited(services, gateway_settings):
    def make(rate, general="off"):
        settings = gateway_settings({n: u for n, (_, u) in services.items()}, rate_limit=general)
        return create_app(settings, sign_in_rate_limit=rate).test_client()
    return make


def test_sign_in_links_are_limited_per_address_on_top_of_the_general_limit(sign_in_limited, services):
    client = sign_in_limited("2/hour")
    link = lambda address: client.post("/api/auth/link", json={"email": "a@b.c"},  # noqa: E731
                                       environ_base=from_address(address))
    assert [link("10.0.0.1").status_code for _ in range(2)] == [200, 200]  # the echo service answers 200
    refused = link("10.0.0.1")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600  # the first link leaves the hour's window
    assert link("10.0.0.2").status_code == 200
    # Nothing else is counted against it: other paths, and the code exchange, still pass.
    assert client.post("/api/auth/token", json={"code": "x"}, environ_base=from_address("10.0.0.1")).status_code == 200
    assert client.get("/api/treatments", environ_base=from_address("10.0.0.1")).status_code == 200
    links = [r for r in services["screening"][0].received if r["path"] == "/api/auth/link"]
    assert len(links) == 3  # the refused one was not forwarded


def test_the_sign_in_limit_can_be_off_and_a_bad_one_stops_the_start(sign_in_limited, gateway_settings, closed_url):
    client = sign_in_limited("off")
    assert {client.post("/api/auth/link", json={}).status_code for _ in range(20)} == {200}
    with pytest.raises(ValueError, match="CLINIC_SIGN_IN_RATE_LIMIT"):
        create_app(gateway_settings({"screening": closed_url}), sign_in_rate_limit="many")
