"""Applying the rate limit to the gateway's `/api` requests (the rules are in rate_limit.py)."""
from __future__ import annotations

import hashlib

from flask import Flask, request

from clinic_shared.errors import ApiError

from .rate_limit import Rate, RateLimiter, retry_after_header

# Health is polled by orchestrators and `make run`; limiting it would only hide readiness.
UNLIMITED_PATHS = frozenset({"/api/health"})
# Each of these sends an e-mail to whoever the address names: a tighter limit per client address, on top
# of the general one (the screening service limits them per e-mail address too).
SIGN_IN_LINK_PATH = "/api/auth/link"


def install_sign_in_limit(app: Flask, rate: Rate | None) -> None:
    if rate is None:
        return
    limiter = RateLimiter(rate)

    @app.before_request
    def _limit_sign_in_links():
        if request.method != "POST" or request.path != SIGN_IN_LINK_PATH:
            return None
        wait = limiter.acquire([f"address:{request.remote_addr or 'unknown'}"])
        if wait is not None:
            raise ApiError(429, "rate_limited", "Too many sign-in links were asked for from here; please wait "
                                                "and try again.", {"retry_after_seconds": int(retry_after_header(wait))},
                           headers={"Retry-After": retry_after_header(wait)})
        return None


def install_rate_limit(app: Flask, rate: Rate | None) -> None:
    if rate is None:
        return
    limiter = RateLimiter(rate)

    @app.before_request
    def _limit():
        if not request.path.startswith("/api/") or request.path in UNLIMITED_PATHS:
            return None
        wait = limiter.acquire(limit_keys(request.remote_addr, request.headers.get("Authorization")))
        if wait is not None:
            raise ApiError(429, "rate_limited", "Too many requests; please wait a moment and try again.",
                           {"retry_after_seconds": int(retry_after_header(wait))},
                           headers={"Retry-After": retry_after_header(wait)})
        return None


def limit_keys(address: str | None, authorization: str | None) -> list[str]:
    """One bucket per client address and one per bearer token (hashed: no tokens kept in memory)."""
    keys = [f"address:{address or 'unknown'}"]
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        keys.append("token:" + hashlib.sha256(token.strip().encode()).hexdigest())
    return keys
