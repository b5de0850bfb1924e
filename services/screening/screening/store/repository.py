"""Reading and writing screenings. Callers own the transaction."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from clinic_shared.attempts import normalise_email
from clinic_shared.paging import Position, keyset

from .tables import screenings, sign_in_codes


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


# ----- sign-in links --------------------------------------------------------------------------------

def newest_screening_by_email(session: Session, email: str) -> ScreeningRecord | None:
    """The newest screening given with this e-mail (any case): its client is who signs in with it."""
    row = session.execute(
        select(screenings).where(func.lower(screenings.c.client_email) == normalise_email(email))
        .order_by(screenings.c.created_at.desc(), screenings.c.id.desc()).limit(1)).mappings().first()
    return ScreeningRecord(**row) if row else None


def newest_screening_of_client(session: Session, client_id: str) -> ScreeningRecord | None:
    row = session.execute(
        select(screenings).where(screenings.c.client_id == client_id)
        .order_by(screenings.c.created_at.desc(), screenings.c.id.desc()).limit(1)).mappings().first()
    return ScreeningRecord(**row) if row else None


def sign_in_requests_since(session: Session, email_key: str, since: datetime) -> list[datetime]:
    return list(session.execute(select(sign_in_codes.c.created_at).where(
        sign_in_codes.c.email_key == email_key, sign_in_codes.c.created_at > since)).scalars())


def insert_sign_in_code(session: Session, *, code_hash: str, email_key: str, client_id: str | None,
                        created_at: datetime, expires_at: datetime) -> None:
    session.execute(sign_in_codes.insert().values(code_hash=code_hash, email_key=email_key, client_id=client_id,
                                                  created_at=created_at, expires_at=expires_at))


def sign_in_code(session: Session, code_hash: str, lock: bool = False):
    query = select(sign_in_codes).where(sign_in_codes.c.code_hash == code_hash)
    return session.execute(query.with_for_update() if lock else query).first()


def mark_sign_in_code_used(session: Session, code_hash: str, now: datetime) -> bool:
    """Use the code once: of two exchanges at once, exactly one changes the row (on either database)."""
    return session.execute(update(sign_in_codes).where(
        sign_in_codes.c.code_hash == code_hash, sign_in_codes.c.used_at.is_(None),
    ).values(used_at=now)).rowcount == 1


def delete_sign_in_codes_expired_before(session: Session, before: datetime) -> None:
    session.execute(delete(sign_in_codes).where(sign_in_codes.c.expires_at < before))
