"""Screening records as the contract shows them: date-times in the clinic's zone with its offset."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from clinic_shared.datetimes import to_local_iso

from ..domain.retention import erasure_progress
from ..store.repository import ErasureRecord, ScreeningRecord


def screening_view(record: ScreeningRecord, tz: ZoneInfo, with_answers: bool = True) -> dict:
    """`with_answers=False` for staff whose role may not read health data (reception): no `answers` key."""
    clearance = None
    if record.clearance_decision is not None:
        clearance = {"decision": record.clearance_decision, "note": record.clearance_note,
                     "decided_by": record.cleared_by, "decided_at": to_local_iso(record.cleared_at, tz)}
    view = {
        "id": record.id,
        "client_id": record.client_id,
        "client": {"name": record.client_name, "email": record.client_email, "phone": record.client_phone},
        "areas": list(record.areas),
        "answers": dict(record.answers),
        "outcome": record.outcome,
        "reasons": list(record.reasons),
        "valid_until": to_local_iso(record.valid_until, tz),
        "rules_version": record.rules_version,
        "created_at": to_local_iso(record.created_at, tz),
        "clearance": clearance,
    }
    if not with_answers:
        del view["answers"]
    return view


def erasure_view(record: ErasureRecord, tz: ZoneInfo) -> dict:
    status, services = erasure_progress(set(record.reported))
    return {"client_id": record.client_id, "status": status, "services": services, "reason": record.reason,
            "requested_at": to_local_iso(record.requested_at, tz),
            "completed_at": to_local_iso(record.completed_at, tz) if record.completed_at else None}


def export_view(client_id: str, records: list[ScreeningRecord], tz: ZoneInfo) -> dict:
    """This service's part of a client's export: who they are (as their latest screening gives it) and
    every screening with its answers."""
    latest = records[-1]
    return {"client": {"id": client_id, "name": latest.client_name, "email": latest.client_email,
                       "phone": latest.client_phone},
            "screenings": [screening_view(r, tz) for r in records]}
