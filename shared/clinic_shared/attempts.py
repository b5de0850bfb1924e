"""Counting attempts in a sliding window: the staff sign-in lock and the client sign-in links both say
"at most `limit` within `window`, then wait". Plain functions over plain data."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Sequence


def normalise_email(email: str) -> str:
    """The form an e-mail address is compared in (case and surrounding spaces do not make another one)."""
    return email.strip().lower()


def wait_seconds(attempts: Sequence[datetime], now: datetime, limit: int, window: timedelta) -> int:
    """Seconds until one more attempt is allowed; 0 when it is allowed now.

    Refused while `limit` attempts fall within `window` before now; allowed again when the oldest of the
    latest `limit` leaves the window.
    """
    recent = sorted(t for t in attempts if now - window < t <= now)
    if len(recent) < limit:
        return 0
    opens_at = recent[-limit] + window
    return max(1, math.ceil((opens_at - now).total_seconds()))
