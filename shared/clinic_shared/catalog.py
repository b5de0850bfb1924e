"""The clinic's treatment areas (CLINIC.md "Treatments"): one list that every service reads.

Screening checks the areas a client names, booking times sessions by their minutes, notifications
writes their names in e-mails. A deployment changes them in one place: `CLINIC_AREAS`, a JSON list
of {"id", "name", "minutes"}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class TreatmentArea:
    id: str
    name: str
    minutes: int


DEFAULT_AREAS = (
    TreatmentArea("face", "Face", 60),
    TreatmentArea("neck", "Neck", 30),
    TreatmentArea("decolletage", "Décolletage", 45),
    TreatmentArea("scalp", "Scalp (hair growth)", 45),
    TreatmentArea("hands", "Hands", 30),
)


def parse_areas(value: str) -> tuple[TreatmentArea, ...]:
    """`CLINIC_AREAS` as written; blank means the defaults. Refuses a list that would break booking."""
    if not value or not value.strip():
        return DEFAULT_AREAS
    areas = tuple(TreatmentArea(str(a["id"]), str(a["name"]), int(a["minutes"])) for a in json.loads(value))
    if not areas or len({a.id for a in areas}) != len(areas) or any(a.minutes <= 0 for a in areas):
        raise ValueError("CLINIC_AREAS needs at least one area, unique ids and positive minutes")
    return areas


def load_areas(environ: Mapping[str, str]) -> tuple[TreatmentArea, ...]:
    return parse_areas(environ.get("CLINIC_AREAS", ""))
