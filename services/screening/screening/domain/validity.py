"""How long a screening stays good for booking (CLINIC.md: 90 days from when it was made)."""
from __future__ import annotations

from datetime import datetime, timedelta


def valid_until(created_at: datetime, validity_days: int) -> datetime:
    if validity_days < 1:
        raise ValueError("validity_days must be at least 1")
    return created_at + timedelta(days=validity_days)
