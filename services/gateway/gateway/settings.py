"""The gateway's settings: the shared ones plus where its rate limits are counted and whom it trusts.

| environment | meaning | default |
|---|---|---|
| CLINIC_REDIS_URL | Redis the rate limits are counted in (`redis://host:6379/0`), shared by every gateway process and replica | none: counted in each process's memory |
| CLINIC_SIGN_IN_RATE_LIMIT | sign-in links (`POST /api/auth/link`, each sends an e-mail) asked for per client address, as `N/second|minute|hour` or `off`, on top of the general limit | `10/hour` |
| CLINIC_TRUSTED_PROXIES | how many proxies in front of the gateway append to `X-Forwarded-For`; the client address is the one the outermost trusted proxy saw | `0`: the header is ignored, the peer address is the client |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from clinic_shared.settings import OnSharedSettings, Settings, load_settings

SERVICE = "gateway"


@dataclass(frozen=True)
class GatewaySettings(OnSharedSettings):
    base: Settings
    redis_url: str | None = None
    trusted_proxies: int = 0
    sign_in_rate_limit: str = "10/hour"


def load_gateway_settings(environ: Mapping[str, str] | None = None) -> GatewaySettings:
    env = os.environ if environ is None else environ
    return GatewaySettings(
        base=load_settings(SERVICE, env),
        redis_url=env.get("CLINIC_REDIS_URL") or None,
        trusted_proxies=parse_trusted_proxies(env.get("CLINIC_TRUSTED_PROXIES") or "0"),
        sign_in_rate_limit=env.get("CLINIC_SIGN_IN_RATE_LIMIT") or "10/hour",
    )


def parse_trusted_proxies(text: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise ValueError(f"CLINIC_TRUSTED_PROXIES must be a whole number of proxies (0 or more), not {text!r}")
    return int(value)
