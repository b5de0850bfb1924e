"""The gateway's rate limit: `N/second|minute|hour` per client address and per bearer token.

A token bucket per key (capacity N, refilled at N per period): a steady client gets N per period,
a burst of N is allowed, and the wait until the next request is exact, which gives `Retry-After`.
Kept in memory, so the gateway runs as one process (with threads).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass(frozen=True)
class Rate:
    requests: int
    period_seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.period_seconds


def parse_rate(text: str, setting: str = "CLINIC_RATE_LIMIT") -> Rate | None:
    """`"120/minute"` -> Rate(120, 60.0); `"off"` -> None. Anything else is a configuration error."""
    value = (text or "").strip().lower()
    if value == "off":
        return None
    count, sep, period = value.partition("/")
    if not sep or period not in PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{setting} must be 'N/second', 'N/minute', 'N/hour' or 'off', not {text!r}")
    return Rate(int(count), PERIODS[period])


class RateLimiter:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when last refilled)
        self._lock = threading.Lock()
        self._next_prune = clock() + rate.period_seconds

    def acquire(self, keys: Iterable[str]) -> float | None:
        """Take one request from every key's bucket, or none if any is empty.

        Returns None when allowed, else the seconds until every bucket has a request again.
        """
        keys = list(dict.fromkeys(keys))
        with self._lock:
            now = self._clock()
            self._prune(now)
            levels = {key: self._level(key, now) for key in keys}
            short = [1.0 - tokens for tokens in levels.values() if tokens < 1.0]
            if short:
                return max(short) / self._rate.per_second
            for key, tokens in levels.items():
                self._buckets[key] = (tokens - 1.0, now)
            return None

    def _level(self, key: str, now: float) -> float:
        tokens, then = self._buckets.get(key, (float(self._rate.requests), now))
        return min(float(self._rate.requests), tokens + (now - then) * self._rate.per_second)

    def _prune(self, now: float) -> None:
        # A bucket untouched for a whole period is full again: forgetting it changes nothing,
        # and keeps memory bounded by the clients of the last period.
        if now < self._next_prune:
            return
        period = self._rate.period_seconds
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < period}
        self._next_prune = now + period

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, at least 1 (HTTP's Retry-After has no fractions)."""
    return str(max(1, math.ceil(seconds)))
