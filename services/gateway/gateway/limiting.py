"""Applying the rate limit to the gateway's `/api` requests, with flask-limiter.

Two limits of `CLINIC_RATE_LIMIT` each, shared by every `/api` path: one per client address and one per
bearer token. A moving window: at most N requests in any period (a refused request is not counted).
Counted in Redis when `CLINIC_REDIS_URL` is set, so every gateway process and replica shares one count;
otherwise in this process's memory (then each process counts on its own: N per period per process).
If Redis stops answering, each process counts in memory until it is back instead of failing requests.
"""
from __future__ import annotations

import hashlib
import time

from flask import Flask, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from clinic_shared.errors import error_response

from .rate_limit import Rate, retry_after_header

# Health is polled by orchestrators and `make run`; limiting it would only hide readiness.
UNLIMITED_PATHS = frozenset({"/api/health"})
REDIS_TIMEOUT_SECONDS = 0.5  # a Redis that hangs must not hold requests: past this, memory counts instead
# Each sends an e-mail to whoever the address names: a tighter limit per client address on top of the general
# one (the screening service also limits them per e-mail address).
SIGN_IN_LINK_PATH = "/api/auth/link"


def install_rate_limit(app: Flask, rate: Rate | None, sign_in_rate: Rate | None, redis_url: str | None,
                       key_prefix: str) -> Limiter | None:
    limits = []
    if rate is not None:
        limits += [ApplicationLimit(rate.text, key_function=address_key, exempt_when=_not_limited),
                   ApplicationLimit(rate.text, key_function=token_key,
                                    exempt_when=lambda: _not_limited() or token_key() == "")]
    if sign_in_rate is not None:
        limits.append(ApplicationLimit(sign_in_rate.text, key_function=sign_in_key,
                                       exempt_when=lambda: not _asks_for_sign_in_link()))
    if not limits:
        return None
    storage = {"storage_uri": "memory://"}
    if redis_url:
        storage = {"storage_uri": redis_url, "in_memory_fallback_enabled": True,
                   "storage_options": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                                       "socket_timeout": REDIS_TIMEOUT_SECONDS}}
    limiter = Limiter(address_key, application_limits=limits, strategy="moving-window", key_prefix=key_prefix,
                      headers_enabled=False, **storage)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _refused(_exc):
        breached = limiter.current_limit
        wait = breached.window[0] - time.time() if breached is not None else 1.0
        retry_after = retry_after_header(wait)
        message = "Too many sign-in links were asked for from here; please wait and try again." \
            if _asks_for_sign_in_link() else "Too many requests; please wait a moment and try again."
        return error_response(429, "rate_limited", message,
                              {"retry_after_seconds": int(retry_after)}, headers={"Retry-After": retry_after})

    return limiter


def _not_limited() -> bool:
    return not request.path.startswith("/api/") or request.path in UNLIMITED_PATHS


def _asks_for_sign_in_link() -> bool:
    return request.method == "POST" and request.path == SIGN_IN_LINK_PATH


def sign_in_key() -> str:
    """Its own key: the sign-in limit counts apart from the general one even when both rates are the same."""
    return "sign-in:" + address_key()


def address_key() -> str:
    """The client's address: the peer, or what the trusted proxies said it was (ProxyFix sets remote_addr)."""
    return f"address:{request.remote_addr or 'unknown'}"


def token_key() -> str:
    """The bearer token, hashed (no token is kept in the limiter's storage); "" when there is none."""
    return bearer_key(request.headers.get("Authorization"))


def bearer_key(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()
