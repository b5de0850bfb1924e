"""The booking service's settings: the shared ones (load_settings("booking")) plus the clinic's
numbers from CLINIC.md as defaults, each overridable by an environment variable.

| variable | default |
|---|---|
| CLINIC_PRACTITIONERS | "Alex Morgan,Sam Patel" (comma-separated names) |
| CLINIC_BOOKING_OPEN_DAYS | "Mon,Tue,Wed,Thu,Fri,Sat" |
| CLINIC_BOOKING_OPENS / CLINIC_BOOKING_CLOSES | "08:00" / "17:30" |
| CLINIC_BOOKING_SLOT_MINUTES | 15 |
| CLINIC_BOOKING_TURNOVER_MINUTES | 15 |
| CLINIC_BOOKING_MIN_NOTICE_MINUTES | 120 |
| CLINIC_BOOKING_HORIZON_DAYS | 365 |
| CLINIC_AREAS | JSON list of {"id", "name", "minutes"} (shared by every service); CLINIC.md's five areas |
| CLINIC_BOOKING_MAX_SESSION_MINUTES | 60 |
| CLINIC_BOOKING_CONSULTATION_MINUTES | 30 |
| CLINIC_BOOKING_SPACING_DAYS | 28 |
| CLINIC_BOOKING_COURSE_SESSIONS | "3-6" |
| CLINIC_BOOKING_COURSE_INTERVAL_WEEKS | "4-6" |
| CLINIC_BOOKING_SCREENING_RETRY_AFTER | 2 (seconds, the Retry-After of `screening_pending`) |
| CLINIC_BOOKING_SCREENING_WAIT | 2 (seconds, at most 2: how long a booking waits for a screening not received yet) |
| CLINIC_WAITLIST_HOLD_MINUTES | 30 (how long freed time offered to a waiting client is held for them) |
| CLINIC_CHANGE_NOTICE_HOURS | 24 (a client may cancel or reschedule up to this many hours before the start) |
| CLINIC_CONTACT_PHONE / CLINIC_CONTACT_EMAIL | "+44 20 7946 0000" / "hello@ikclinics.example" (`details.contact` of `too_late_to_change`) |

A screening's validity is not a setting here: each screening carries its own `valid_until`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from datetime import time
from typing import Mapping
from zoneinfo import ZoneInfo

from clinic_shared.catalog import parse_areas
from clinic_shared.settings import Settings, load_settings

from .domain.clinic import ClinicRules, Practitioner

DEFAULT_PRACTITIONERS = ("Alex Morgan", "Sam Patel")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# rule field -> (environment variable, default as the environment would spell it)
_ENV = {
    "open_weekdays": ("CLINIC_BOOKING_OPEN_DAYS", "Mon,Tue,Wed,Thu,Fri,Sat"),
    "opens": ("CLINIC_BOOKING_OPENS", "08:00"),
    "closes": ("CLINIC_BOOKING_CLOSES", "17:30"),
    "slot_minutes": ("CLINIC_BOOKING_SLOT_MINUTES", "15"),
    "turnover_minutes": ("CLINIC_BOOKING_TURNOVER_MINUTES", "15"),
    "min_notice_minutes": ("CLINIC_BOOKING_MIN_NOTICE_MINUTES", "120"),
    "horizon_days": ("CLINIC_BOOKING_HORIZON_DAYS", "365"),
    "areas": ("CLINIC_AREAS", ""),
    "max_session_minutes": ("CLINIC_BOOKING_MAX_SESSION_MINUTES", "60"),
    "consultation_minutes": ("CLINIC_BOOKING_CONSULTATION_MINUTES", "30"),
    "practitioners": ("CLINIC_PRACTITIONERS", ",".join(DEFAULT_PRACTITIONERS)),
    "spacing_days": ("CLINIC_BOOKING_SPACING_DAYS", "28"),
    "course_sessions": ("CLINIC_BOOKING_COURSE_SESSIONS", "3-6"),
    "course_interval_weeks": ("CLINIC_BOOKING_COURSE_INTERVAL_WEEKS", "4-6"),
    "change_notice_hours": ("CLINIC_CHANGE_NOTICE_HOURS", "24"),
    "contact_phone": ("CLINIC_CONTACT_PHONE", "+44 20 7946 0000"),
    "contact_email": ("CLINIC_CONTACT_EMAIL", "hello@ikclinics.example"),
}


@dataclass(frozen=True)
class BookingSettings:
    base: Settings
    rules: ClinicRules
    screening_retry_after_seconds: int = 2
    screening_wait_seconds: float = 2.0  # before `screening_pending`, outside any transaction
    waitlist_hold_minutes: int = 30  # CLINIC.md "Waitlist": an offer is held this long


MAX_SCREENING_WAIT_SECONDS = 2.0  # a request thread is held that long at most


def practitioner_id(name: str) -> str:
    """A stable id from a name, so ids survive restarts: "Sam Patel" -> "sam-patel"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "practitioner"


def practitioners_from_names(names) -> tuple[Practitioner, ...]:
    if isinstance(names, str):
        names = names.split(",")
    result, seen = [], set()
    for name in (n.strip() for n in names):
        if not name:
            continue
        pid, n = practitioner_id(name), 2
        while pid in seen:  # two people of one name still get two ids
            pid, n = f"{practitioner_id(name)}-{n}", n + 1
        seen.add(pid)
        result.append(Practitioner(pid, name))
    if not result:
        raise ValueError("at least one practitioner is needed")
    return tuple(result)


def _weekdays(value: str) -> frozenset[int]:
    return frozenset(WEEKDAYS.index(day.strip().lower()[:3]) for day in value.split(",") if day.strip())


def _clock(value: str) -> time:
    return time.fromisoformat(value.strip())


def _range(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    return int(low), int(high or low)


_PARSERS = {
    "open_weekdays": _weekdays, "opens": _clock, "closes": _clock, "areas": parse_areas,
    "practitioners": practitioners_from_names, "course_sessions": _range, "course_interval_weeks": _range,
    "contact_phone": str.strip, "contact_email": str.strip,
}


def clinic_rules(timezone: str = "Europe/London", environ: Mapping[str, str] | None = None) -> ClinicRules:
    """CLINIC.md's defaults, with any of them replaced through the environment."""
    env = {} if environ is None else environ
    values = {name: _PARSERS.get(name, int)(env.get(variable) or default)
              for name, (variable, default) in _ENV.items()}
    return ClinicRules(timezone=ZoneInfo(timezone), **values)


_RULE_FIELDS = {f.name for f in fields(ClinicRules)} - {"timezone"}
_BASE_FIELDS = {f.name for f in fields(Settings)}


def load_booking_settings(environ: Mapping[str, str] | None = None, **overrides) -> BookingSettings:
    """Settings from the environment, then `overrides` (any shared setting or clinic rule)."""
    env = os.environ if environ is None else environ
    base = load_settings("booking", env)
    settings = BookingSettings(base=base, rules=clinic_rules(base.timezone, env),
                               screening_retry_after_seconds=int(env.get("CLINIC_BOOKING_SCREENING_RETRY_AFTER") or 2),
                               screening_wait_seconds=_screening_wait(env.get("CLINIC_BOOKING_SCREENING_WAIT") or "2"),
                               waitlist_hold_minutes=_hold_minutes(env.get("CLINIC_WAITLIST_HOLD_MINUTES") or "30"))
    return with_overrides(settings, **overrides)


def with_overrides(settings: BookingSettings, **overrides) -> BookingSettings:
    unknown = set(overrides) - _RULE_FIELDS - _BASE_FIELDS - {"screening_retry_after_seconds",
                                                               "screening_wait_seconds", "waitlist_hold_minutes"}
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    base = settings.base.with_overrides(**{k: v for k, v in overrides.items() if k in _BASE_FIELDS})
    rule_changes = {k: v for k, v in overrides.items() if k in _RULE_FIELDS}
    if "practitioners" in rule_changes and not isinstance(rule_changes["practitioners"], tuple):
        rule_changes["practitioners"] = practitioners_from_names(rule_changes["practitioners"])
    rules = replace(settings.rules, timezone=ZoneInfo(base.timezone), **rule_changes)
    retry = overrides.get("screening_retry_after_seconds", settings.screening_retry_after_seconds)
    wait = _screening_wait(overrides.get("screening_wait_seconds", settings.screening_wait_seconds))
    hold = _hold_minutes(overrides.get("waitlist_hold_minutes", settings.waitlist_hold_minutes))
    return replace(settings, base=base, rules=rules, screening_retry_after_seconds=retry, screening_wait_seconds=wait,
                   waitlist_hold_minutes=hold)


def _screening_wait(value) -> float:
    seconds = float(value)
    if not 0 <= seconds <= MAX_SCREENING_WAIT_SECONDS:
        raise ValueError(f"CLINIC_BOOKING_SCREENING_WAIT must be between 0 and {MAX_SCREENING_WAIT_SECONDS:g} seconds")
    return seconds


def _hold_minutes(value) -> int:
    minutes = int(value)
    if minutes < 1:
        raise ValueError("CLINIC_WAITLIST_HOLD_MINUTES must be at least 1")
    return minutes
