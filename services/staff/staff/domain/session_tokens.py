"""Session tokens: random, opaque, kept only as a SHA-256 digest (a leaked table signs nobody in)."""
from __future__ import annotations

import hashlib
import secrets

from clinic_shared.staff_sessions import STAFF_TOKEN_PREFIX


def new_token() -> str:
    return STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
