"""TtlCache: an answer is reused for its time to live, per key, and a burst of callers computes it once."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from clinic_shared.ttl_cache import TtlCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_reused_until_it_is_older_than_its_time_to_live():
    clock, calls = Clock(), []
    cache = TtlCache(10.0, clock=clock)

    def compute():
        calls.append(clock.now)
        return len(calls) % 2 == 1  # True, then False: bad answers are kept too

    assert cache.get("broker", compute) is True
    clock.now += 9
    assert cache.get("broker", compute) is True
    clock.now += 1
    assert cache.get("broker", compute) is False
    clock.now += 5
    assert cache.get("broker", compute) is False
    assert calls == [100.0, 110.0]


def test_keys_are_kept_apart():
    cache = TtlCache(60.0)
    assert cache.get("a", lambda: "first a") == "first a"
    assert cache.get("b", lambda: "first b") == "first b"
    assert cache.get("a", lambda: "second a") == "first a"


def test_an_error_is_not_kept():
    cache = TtlCache(60.0)

    def fail():
        raise OSError("unreachable")

    try:
        cache.get("k", fail)
    except OSError:
        pass
    assert cache.get("k", lambda: "answer") == "answer"


def test_callers_arriving_together_wait_for_one_computation():
    cache, calls, started, release = TtlCache(60.0), [], threading.Event(), threading.Event()

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return "answer"

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(cache.get, "k", slow) for _ in range(8)]
        assert started.wait(5)
        time.sleep(0.2)  # the other callers arrive while the first is still computing
        release.set()
        assert [f.result(timeout=10) for f in futures] == ["answer"] * 8
    assert calls == [1]
