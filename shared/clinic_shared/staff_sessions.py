"""Checking a member of staff's session token by asking the staff service (its introspection endpoint).

Sessions live in the staff service's database; every other service asks it who a token belongs to and
keeps the answer for `cache_seconds` (1 s by default), so a session that ends (sign-out, a member made
inactive, a changed password) stops working everywhere within about a second, while a burst of requests
with one token costs one question. The question carries the operator key: the endpoint is not public.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import requests

from .errors import ApiError
from .ttl_cache import TtlCache

STAFF_TOKEN_PREFIX = "stf_"  # tells a session token from a client token without asking anyone
INTROSPECT_PATH = "/internal/sessions/introspect"


@dataclass(frozen=True)
class StaffIdentity:
    id: str
    name: str
    role: str
    email: str | None = None
    practitioner_id: str | None = None

    @property
    def actor(self) -> dict:
        """As the audit trail names who did something."""
        return {"id": self.id, "name": self.name, "role": self.role}


OPERATOR = StaffIdentity("operator", "operator key", "admin")


def looks_like_session_token(token: str) -> bool:
    return token.startswith(STAFF_TOKEN_PREFIX)


class StaffSessions:
    """Who a staff session token belongs to, asked of the staff service at `base_url`."""

    def __init__(self, base_url: str, operator_key: str, cache_seconds: float = 1.0, timeout: float = 3.0):
        self._url = base_url.rstrip("/") + INTROSPECT_PATH
        self._operator_key = operator_key
        self._cache = TtlCache(cache_seconds)
        self._timeout = timeout

    def identity(self, token: str) -> StaffIdentity | None:
        """The member the token signs in, or None when it is unknown, ended or expired.

        The staff service being unreachable is a 503 (never a 401: the token may well be good)."""
        key = hashlib.sha256(token.encode()).hexdigest()  # raw tokens are not kept in memory
        return self._cache.get(key, lambda: self._ask(token))

    def _ask(self, token: str) -> StaffIdentity | None:
        try:
            response = requests.post(self._url, json={"token": token}, timeout=self._timeout,
                                     headers={"Authorization": f"Bearer {self._operator_key}"})
        except requests.RequestException:
            raise _unavailable()
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unavailable()
        staff = response.json()["staff"]
        return StaffIdentity(id=staff["id"], name=staff["name"], role=staff["role"], email=staff["email"],
                             practitioner_id=staff.get("practitioner_id"))


def _unavailable() -> ApiError:
    return ApiError(503, "service_unavailable", "Staff sign-in cannot be checked right now; try again shortly.",
                    {"services": ["staff"]})
