"""The sign-in lock (API.md): five failed attempts for one e-mail within fifteen minutes lock it.

Counted per e-mail whether or not a member has it, so the lock says nothing about who exists.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Sequence


def normalise_email(email: str) -> str:
    return email.strip().lower()


def locked_for_seconds(failures: Sequence[datetime], now: datetime, limit: int, window: timedelta) -> int:
    """Seconds until the e-mail may try again; 0 when it may try now.

    `failures` are the failed attempts' times. Locked while `limit` of them fall within `window`
    before now; it opens when the oldest of the latest `limit` leaves the window.
    """
    recent = sorted(t for t in failures if now - window < t <= now)
    if len(recent) < limit:
        return 0
    opens_at = recent[-limit] + window
    return max(1, math.ceil((opens_at - now).total_seconds()))
