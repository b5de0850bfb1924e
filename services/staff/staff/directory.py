"""What the staff service asks of itself and of others: who a session token signs in (its own
database: no HTTP to itself), and which practitioners exist (the booking service's public list)."""
from __future__ import annotations

import requests
from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.db import utcnow
from clinic_shared.errors import ApiError
from clinic_shared.staff_sessions import StaffIdentity
from clinic_shared.ttl_cache import TtlCache

from .operations import identity, member_of_token


class LocalStaffSessions:
    """The same answer as the introspection endpoint, read straight from the staff database."""

    def __init__(self, session_factory: sessionmaker[Session]):
        self._sessions = session_factory

    def identity(self, token: str) -> StaffIdentity | None:
        with self._sessions() as session:
            member = member_of_token(session, token, utcnow())
        return identity(member) if member else None


class Practitioners:
    """The ids of GET /api/practitioners, asked of the booking service and kept for a minute."""

    def __init__(self, booking_url: str, cache_seconds: float = 60.0):
        self._url = booking_url.rstrip("/") + "/api/practitioners"
        self._cache = TtlCache(cache_seconds)

    def ids(self) -> set[str]:
        return self._cache.get("ids", self._fetch)

    def _fetch(self) -> set[str]:
        try:
            response = requests.get(self._url, timeout=3)
            response.raise_for_status()
            return {p["id"] for p in response.json()["practitioners"]}
        except (requests.RequestException, ValueError, KeyError):
            raise ApiError(503, "service_unavailable", "The list of practitioners cannot be read right now.",
                           {"services": ["booking"]})
