"""The sign-in lock (API.md): five failed attempts for one e-mail within fifteen minutes lock it.

Counted per e-mail whether or not a member has it, so the lock says nothing about who exists. The
counting is the shared sliding window (`clinic_shared.attempts`), which client sign-in links use too.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from clinic_shared.attempts import normalise_email, wait_seconds

__all__ = ["locked_for_seconds", "normalise_email"]


def locked_for_seconds(failures: Sequence[datetime], now: datetime, limit: int, window: timedelta) -> int:
    """Seconds until the e-mail may try again; 0 when it may try now (`failures`: the failed attempts' times)."""
    return wait_seconds(failures, now, limit, window)
