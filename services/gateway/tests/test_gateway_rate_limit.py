"""The rate limit: parsing the setting, the token buckets, and the gateway applying them."""
import pytest

from gateway import create_app
from gateway.limiting import limit_keys
from gateway.rate_limit import Rate, RateLimiter, parse_rate, retry_after_header


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("text,rate", [
    ("120/minute", Rate(120, 60.0)), ("5/second", Rate(5, 1.0)), ("1/hour", Rate(1, 3600.0)),
    (" 10/Minute ", Rate(10, 60.0)), ("off", None), ("OFF", None),
])
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "10/day", "0/minute", "-1/second", "x/minute", "10/", "/minute",
                                  "10/minute/2", "1.5/second", "10 / minute"])
def test_parse_rate_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_n_requests_pass_then_the_next_waits_one_interval():
    clock = Clock()
    limiter = RateLimiter(Rate(3, 60.0), clock)
    assert [limiter.acquire(["a"]) for _ in range(3)] == [None, None, None]
    assert limiter.acquire(["a"]) == pytest.approx(20.0)
    clock.now += 10
    assert limiter.acquire(["a"]) == pytest.approx(10.0)
    clock.now += 10
    assert limiter.acquire(["a"]) is None
    assert limiter.acquire(["a"]) == pytest.approx(20.0)


def test_refill_never_exceeds_the_burst():
    clock = Clock()
    limiter = RateLimiter(Rate(2, 1.0), clock)
    clock.now += 3600
    assert [limiter.acquire(["a"]) is None for _ in range(3)] == [True, True, False]


def test_keys_are_counted_separately():
    limiter = RateLimiter(Rate(1, 60.0), Clock())
    assert limiter.acquire(["a"]) is None
    assert limiter.acquire(["b"]) is None
    assert limiter.acquire(["a"]) is not None


def test_one_exhausted_key_refuses_and_spends_nothing_from_the_other():
    limiter = RateLimiter(Rate(2, 60.0), Clock())
    assert limiter.acquire(["address", "token"]) is None
    assert limiter.acquire(["token"]) is None
    assert limiter.acquire(["address", "token"]) is not None  # token is empty
    assert limiter.acquire(["address"]) is None               # address still had its second request
    assert limiter.acquire(["address"]) is not None


def test_the_wait_is_the_longest_of_the_exhausted_keys():
    clock = Clock()
    limiter = RateLimiter(Rate(1, 60.0), clock)
    limiter.acquire(["a"])
    clock.now += 30
    limiter.acquire(["b"])
    assert limiter.acquire(["a", "b"]) == pytest.approx(60.0)


def test_a_repeated_key_counts_once():
    limiter = RateLimiter(Rate(1, 60.0), Clock())
    assert limiter.acquire(["a", "a"]) is None


def test_idle_buckets_are_forgotten():
    clock = Clock()
    limiter = RateLimiter(Rate(5, 60.0), clock)
    for key in "abc":
        limiter.acquire([key])
    assert len(limiter) == 3
    clock.now += 61
    limiter.acquire(["d"])
    assert len(limiter) == 1


@pytest.mark.parametrize("seconds,header", [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.9, "60")])
def test_retry_after_header_is_whole_seconds_rounded_up(seconds, header):
    assert retry_after_header(seconds) == header


def test_limit_keys():
    assert limit_keys("10.0.0.1", None) == ["address:10.0.0.1"]
    assert limit_keys("10.0.0.1", "Basic abc") == ["address:10.0.0.1"]
    keys = limit_keys("10.0.0.1", "Bearer secret-token")
    assert keys[0] == "address:10.0.0.1" and keys[1].startswith("token:")
    assert "secret-token" not in keys[1]
    assert limit_keys("10.0.0.2", "bearer secret-token")[1] == keys[1]


@pytest.fixture
def limited(services, gateway_settings):
    def make(rate):
        app = create_app(gateway_settings({n: u for n, (_, u) in services.items()}, rate_limit=rate))
        return app.test_client()
    return make


def from_address(address):
    return {"REMOTE_ADDR": address}


def test_gateway_limits_per_address(limited):
    client = limited("3/minute")
    for _ in range(3):
        assert client.get("/api/treatments", environ_base=from_address("10.0.0.1")).status_code == 200
    refused = client.get("/api/treatments", environ_base=from_address("10.0.0.1"))
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "20"
    assert client.get("/api/treatments", environ_base=from_address("10.0.0.2")).status_code == 200


def test_gateway_limits_per_token_across_addresses(limited):
    client = limited("2/hour")
    token = {"Authorization": "Bearer the-token"}
    assert client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.1")).status_code == 200
    assert client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.2")).status_code == 200
    refused = client.get("/api/bookings", headers=token, environ_base=from_address("10.0.0.3"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 1800
    assert client.get("/api/bookings", environ_base=from_address("10.0.0.3")).status_code == 200


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


def test_concurrent_requests_never_get_more_than_n():
    from concurrent.futures import ThreadPoolExecutor

    limiter = RateLimiter(Rate(50, 3600.0))
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: limiter.acquire(["address:x", "token:y"]), range(400)))
    assert sum(result is None for result in results) == 50


@pytest.fixture
def sign_in_limited(services, gateway_settings):
    def make(rate, general="off"):
        settings = gateway_settings({n: u for n, (_, u) in services.items()}, rate_limit=general)
        return create_app(settings.with_overrides(sign_in_rate_limit=rate)).test_client()
    return make


def test_sign_in_links_are_limited_per_address_on_top_of_the_general_limit(sign_in_limited, services):
    client = sign_in_limited("2/hour")
    link = lambda address: client.post("/api/auth/link", json={"email": "a@b.c"},  # noqa: E731
                                       environ_base=from_address(address))
    assert [link("10.0.0.1").status_code for _ in range(2)] == [200, 200]  # the echo service answers 200
    refused = link("10.0.0.1")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "1800"
    assert link("10.0.0.2").status_code == 200
    # Nothing else is counted against it: other paths, and the code exchange, still pass.
    assert client.post("/api/auth/token", json={"code": "x"}, environ_base=from_address("10.0.0.1")).status_code == 200
    assert client.get("/api/treatments", environ_base=from_address("10.0.0.1")).status_code == 200
    links = [r for r in services["screening"][0].received if r["path"] == "/api/auth/link"]
    assert len(links) == 3  # the refused one was not forwarded


def test_the_sign_in_limit_can_be_off_and_a_bad_one_stops_the_start(sign_in_limited, gateway_settings, closed_url):
    client = sign_in_limited("off")
    assert {client.post("/api/auth/link", json={}).status_code for _ in range(20)} == {200}
    settings = gateway_settings({"screening": closed_url}).with_overrides(sign_in_rate_limit="many")
    with pytest.raises(ValueError, match="CLINIC_SIGN_IN_RATE_LIMIT"):
        create_app(settings)
