"""What the service does, between HTTP and the store: judge, record, and report through the outbox.

Each function runs inside the caller's transaction, so the screening row and its event commit together.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic_shared.audit import record_audit
from clinic_shared.auth import Principal
from clinic_shared.datetimes import to_local_iso
from clinic_shared.outbox import add_event

from .domain.clearance import ClearanceNotAllowed, cleared_outcome
from .domain.evaluation import evaluate
from .domain.ruleset import RuleSet
from .domain.validity import valid_until
from .settings import SERVICE
from .store.repository import ScreeningRecord, get_screening, insert_screening, note_activity, record_clearance
from .store.tables import outbox


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str | None = None


class ScreeningNotFound(Exception):
    pass


class ClearanceConflict(Exception):
    """The screening's outcome is not (or no longer) consultation_required."""


def submit_screening(session: Session, *, ruleset: RuleSet, client_id: str, contact: Contact,
                     areas: list[str], answers: dict, now: datetime, validity_days: int, tz: ZoneInfo,
                     correlation_id: str | None = None) -> ScreeningRecord:
    verdict = evaluate(ruleset, answers)
    record = ScreeningRecord(
        id=str(uuid.uuid4()), client_id=client_id,
        client_name=contact.name, client_email=contact.email, client_phone=contact.phone,
        areas=list(areas), answers=dict(answers), outcome=verdict.outcome,
        reasons=[{"code": r.code, "message": r.message} for r in verdict.reasons],
        rules_version=ruleset.version, created_at=now, valid_until=valid_until(now, validity_days),
    )
    insert_screening(session, record)
    note_activity(session, client_id, now)  # the retention job counts from a client's last screening
    add_event(session, outbox, "screening.completed", event_data(record, tz),
              producer=SERVICE, correlation_id=correlation_id)
    return record


def note_answers_read(session: Session, principal: Principal | None, screening_ids: list[str],
                      correlation_id: str | None = None) -> None:
    """Staff read these screenings' answers: one `screening.answers_read` audit entry each."""
    for screening_id in screening_ids:
        record_audit(session, outbox, principal, "screening.answers_read", "screening", screening_id,
                     producer=SERVICE, correlation_id=correlation_id)


def clear_screening(session: Session, screening_id: str, *, decision: str, note: str | None,
                    decided_by: str, now: datetime, tz: ZoneInfo,
                    correlation_id: str | None = None, principal: Principal | None = None) -> ScreeningRecord:
    record = get_screening(session, screening_id)
    if record is None:
        raise ScreeningNotFound(screening_id)
    try:
        new_outcome = cleared_outcome(record.outcome, decision)
    except ClearanceNotAllowed as exc:
        raise ClearanceConflict(str(exc)) from exc
    if not record_clearance(session, screening_id, expected_outcome=record.outcome, new_outcome=new_outcome,
                            decision=decision, note=note, decided_by=decided_by, decided_at=now):
        raise ClearanceConflict("another decision was recorded first")
    cleared = get_screening(session, screening_id)
    data = event_data(cleared, tz)
    data.update(previous_outcome=record.outcome, decision=decision, decided_at=to_local_iso(now, tz))
    add_event(session, outbox, "screening.cleared", data, producer=SERVICE, correlation_id=correlation_id)
    record_audit(session, outbox, principal, "screening.cleared", "screening", screening_id,
                 producer=SERVICE, correlation_id=correlation_id)
    return cleared


def event_data(record: ScreeningRecord, tz: ZoneInfo) -> dict:
    """What other services learn of a screening: the outcome, never the answers, the reasons (a reason's code
    names the answer behind it) or a clearance note. Published as the events' newest version (2)."""
    return {
        "screening_id": record.id,
        "client_id": record.client_id,
        "client": {"name": record.client_name, "email": record.client_email, "phone": record.client_phone},
        "areas": list(record.areas),
        "outcome": record.outcome,
        "valid_until": to_local_iso(record.valid_until, tz),
        "rules_version": record.rules_version,
        "created_at": to_local_iso(record.created_at, tz),
    }
