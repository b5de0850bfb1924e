"""The screening service's settings: the shared ones plus its own clinic rules as data.

| environment | meaning | default |
|---|---|---|
| CLINIC_SCREENING_VALIDITY_DAYS | days a screening stays valid for booking | 90 |
| CLINIC_SCREENING_RULES_FILE | the rule set (questions + rules) as JSON | screening/domain/rules.json |
| CLINIC_AREAS | the treatment areas (JSON, shared by every service: clinic_shared.catalog) | CLINIC.md's five |
| CLINIC_SIGN_IN_LINKS_PER_EMAIL | sign-in links one e-mail may ask for within 15 minutes (then 429) | 3 |
| CLINIC_RETENTION_DAYS | days after a client's last screening, booking or message that they are erased | 2920 |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from clinic_shared.catalog import DEFAULT_AREAS as CATALOG_DEFAULT_AREAS, load_areas
from clinic_shared.settings import OnSharedSettings, Settings, load_settings

from .domain.ruleset import DEFAULT_RULES_FILE
from .domain.sign_in import SignInPolicy

SERVICE = "screening"
DEFAULT_AREAS = tuple(area.id for area in CATALOG_DEFAULT_AREAS)  # CLINIC.md, Treatments


@dataclass(frozen=True)
class ScreeningSettings(OnSharedSettings):
    base: Settings
    validity_days: int = 90
    rules_file: Path = DEFAULT_RULES_FILE
    areas: tuple[str, ...] = field(default=DEFAULT_AREAS)
    sign_in: SignInPolicy = field(default_factory=SignInPolicy)
    retention_days: float = 2920.0  # eight years (CLINIC.md, Retention)


def load_screening_settings(environ: Mapping[str, str] | None = None) -> ScreeningSettings:
    env = os.environ if environ is None else environ
    return ScreeningSettings(
        base=load_settings(SERVICE, env),
        validity_days=int(env.get("CLINIC_SCREENING_VALIDITY_DAYS") or 90),
        rules_file=Path(env.get("CLINIC_SCREENING_RULES_FILE") or DEFAULT_RULES_FILE),
        areas=tuple(area.id for area in load_areas(env)),
        sign_in=SignInPolicy(links_per_email=int(env.get("CLINIC_SIGN_IN_LINKS_PER_EMAIL") or 3)),
        retention_days=_positive_days(env.get("CLINIC_RETENTION_DAYS"), 2920.0),
    )


def _positive_days(value: str | None, default: float) -> float:
    days = float(value) if value else default
    if days <= 0:
        raise ValueError("CLINIC_RETENTION_DAYS must be more than 0")
    return days
