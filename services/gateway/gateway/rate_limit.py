"""The gateway's rate-limit setting, `N/second|minute|hour` or `off`, and the Retry-After it gives (pure)."""
from __future__ import annotations

import math
from dataclasses import dataclass

PERIODS = ("second", "minute", "hour")


@dataclass(frozen=True)
class Rate:
    requests: int
    period: str  # one of PERIODS

    @property
    def text(self) -> str:
        """As flask-limiter (the `limits` package) reads it: `120/minute`."""
        return f"{self.requests}/{self.period}"


def parse_rate(text: str, setting: str = "CLINIC_RATE_LIMIT") -> Rate | None:
    """`"120/minute"` -> Rate(120, "minute"); `"off"` -> None. Anything else is a configuration error."""
    value = (text or "").strip().lower()
    if value == "off":
        return None
    count, sep, period = value.partition("/")
    if not sep or period not in PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{setting} must be 'N/second', 'N/minute', 'N/hour' or 'off', not {text!r}")
    return Rate(int(count), period)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, at least 1 (HTTP's Retry-After has no fractions)."""
    return str(max(1, math.ceil(seconds)))
