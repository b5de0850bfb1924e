"""Reading and writing screenings. Callers own the transaction."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic_shared.paging import Position, keyset

from .tables import screenings


@dataclass(frozen=True)
class ScreeningRecord:
    id: str
    client_id: str
    client_name: str
    client_email: str
    client_phone: str | None
    areas: list[str]
    answers: dict
    outcome: str
    reasons: list[dict]
    rules_version: str
    created_at: datetime
    valid_until: datetime
    clearance_decision: str | None = None
    clearance_note: str | None = None
    cleared_by: str | None = None
    cleared_at: datetime | None = None


_INSERT = screenings.insert()  # built once: its compiled form is found at once (issue #7, hot path)


def insert_screening(session: Session, record: ScreeningRecord) -> None:
    # The record's own values as parameters: no deep copy (asdict) and no statement built per call.
    session.execute(_INSERT, {f.name: getattr(record, f.name) for f in fields(record)})


def get_screening(session: Session, screening_id: str) -> ScreeningRecord | None:
    row = session.execute(select(screenings).where(screenings.c.id == screening_id)).mappings().first()
    return ScreeningRecord(**row) if row else None


def list_screenings(session: Session, outcome: str | None = None, *, limit: int,
                    after: Position | None = None) -> list[ScreeningRecord]:
    """Oldest first (the clearance queue is worked in the order clients came), by (created_at, id), from
    after `after`: up to `limit` + 1, the extra one saying that there is a next page (clinic_shared.paging)."""
    query = select(screenings)
    if outcome is not None:
        query = query.where(screenings.c.outcome == outcome)
    query = keyset(query, screenings.c.created_at, screenings.c.id, after, limit)
    return [ScreeningRecord(**row) for row in session.execute(query).mappings()]


def record_clearance(session: Session, screening_id: str, *, expected_outcome: str, new_outcome: str,
                     decision: str, note: str | None, decided_by: str, decided_at: datetime) -> bool:
    """Set the cleared outcome only if the outcome is still `expected_outcome`.

    One conditional UPDATE: of two staff deciding at once, exactly one wins on either database.
    """
    result = session.execute(
        update(screenings)
        .where(screenings.c.id == screening_id, screenings.c.outcome == expected_outcome)
        .values(outcome=new_outcome, clearance_decision=decision, clearance_note=note,
                cleared_by=decided_by, cleared_at=decided_at))
    return result.rowcount == 1
