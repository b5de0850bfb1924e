"""Sign-in links (API.md "Clients who come back") as plain rules: the code, what is kept of it, how
long it works, and how often one e-mail may ask.

A code is 256 random bits, so a fast hash (SHA-256) is enough to keep it: nothing can be guessed from
the hash in the code's 15 minutes, unlike a password, which needs a slow one.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from clinic_shared.attempts import normalise_email, wait_seconds


@dataclass(frozen=True)
class SignInPolicy:
    code_lifetime: timedelta = timedelta(minutes=15)
    links_per_email: int = 3  # links one e-mail may ask for within `email_window`
    email_window: timedelta = timedelta(minutes=15)


def new_code() -> str:
    return secrets.token_urlsafe(32)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def email_key(email: str) -> str:
    """What the per-e-mail limit is counted by: the normalised address, hashed (no address is kept)."""
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def expires_at(now: datetime, policy: SignInPolicy) -> datetime:
    return now + policy.code_lifetime


def link_wait_seconds(earlier_requests: Sequence[datetime], now: datetime, policy: SignInPolicy) -> int:
    """Seconds until this e-mail may ask for another link (0: now)."""
    return wait_seconds(earlier_requests, now, policy.links_per_email, policy.email_window)


def code_works(created_at: datetime, expires: datetime, used_at: datetime | None, client_id: str | None,
               now: datetime) -> bool:
    """A code works once, before it expires, and only if it was made for a client."""
    return client_id is not None and used_at is None and created_at <= now < expires
