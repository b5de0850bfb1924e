"""Remember an answer for a few seconds: for checks that are asked far more often than their answer changes.

`TtlCache(seconds).get(key, compute)` returns the answer computed for `key` less than `seconds` ago, or
computes it. One thread computes while the others asking for the same key wait for its answer, so a burst
of callers costs one computation, not one each. Both good and bad answers are kept.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


class TtlCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._answers: dict[Hashable, tuple[float, object]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()  # guards _locks

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # the callers of one key take turns: the first computes, the rest find its answer
            kept = self._answers.get(key)
            if kept is not None and self._clock() - kept[0] < self.seconds:
                return kept[1]  # type: ignore[return-value]
            answer = compute()
            self._answers[key] = (self._clock(), answer)
            return answer
