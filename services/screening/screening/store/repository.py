"""Reading and writing screenings. Callers own the transaction."""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.orm import Session

from clinic_shared.attempts import normalise_email
from clinic_shared.db import dialect_insert
from clinic_shared.erasure import not_erased
from clinic_shared.paging import Position, keyset

from .tables import client_activity, daily_jobs, erased_clients, erasure_reports, erasures, screenings, sign_in_codes


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


# --- a client's data: their screenings, activity and erasure ------------------------------------------

def screenings_of_client(session: Session, client_id: str) -> list[ScreeningRecord]:
    query = select(screenings).where(screenings.c.client_id == client_id).order_by(screenings.c.created_at,
                                                                                   screenings.c.id)
    return [ScreeningRecord(**row) for row in session.execute(query).mappings()]


def delete_client_screenings(session: Session, client_id: str) -> int:
    return session.execute(delete(screenings).where(screenings.c.client_id == client_id)).rowcount


def delete_client_sign_in_codes(session: Session, client_id: str) -> None:
    """Their codes go too: each row holds a hash of the e-mail the client gave."""
    session.execute(delete(sign_in_codes).where(sign_in_codes.c.client_id == client_id))


def note_activity(session: Session, client_id: str, at: datetime, *, unless_erased: bool = False) -> None:
    """The client was active until `at` (kept if a later time is known): one upsert, on either database. With
    `unless_erased`, nothing is written for an erased client (the same statement looks)."""
    session.execute(_note_activity(session.get_bind().dialect.name, unless_erased),
                    {"client_id": client_id, "last_active_at": at})


@functools.lru_cache(maxsize=None)
def _note_activity(dialect: str, unless_erased: bool):
    """Built once per dialect: building the statement and its cache key costs more than sending it."""
    insert = dialect_insert(dialect, client_activity)
    if unless_erased:
        insert = insert.from_select(["client_id", "last_active_at"], select(
            bindparam("client_id", type_=client_activity.c.client_id.type),
            bindparam("last_active_at", type_=client_activity.c.last_active_at.type),
        ).where(not_erased(erased_clients, bindparam("client_id", type_=client_activity.c.client_id.type))))
    later = case((insert.excluded.last_active_at > client_activity.c.last_active_at, insert.excluded.last_active_at),
                 else_=client_activity.c.last_active_at)
    return insert.on_conflict_do_update(index_elements=["client_id"], set_={"last_active_at": later})


def last_activity(session: Session, client_id: str) -> datetime | None:
    return session.scalar(select(client_activity.c.last_active_at).where(client_activity.c.client_id == client_id))


def inactive_clients(session: Session, before: datetime, limit: int) -> list[str]:
    query = (select(client_activity.c.client_id).where(client_activity.c.last_active_at < before)
             .order_by(client_activity.c.last_active_at).limit(limit))
    return list(session.scalars(query))


def forget_activity(session: Session, client_id: str) -> None:
    session.execute(delete(client_activity).where(client_activity.c.client_id == client_id))


@dataclass(frozen=True)
class ErasureRecord:
    client_id: str
    reason: str
    requested_at: datetime
    completed_at: datetime | None
    reported: frozenset[str]  # the services that have done their part


def get_erasure(session: Session, client_id: str, lock: bool = False) -> ErasureRecord | None:
    query = select(erasures).where(erasures.c.client_id == client_id)
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    reported = session.scalars(select(erasure_reports.c.service).where(erasure_reports.c.client_id == client_id))
    return ErasureRecord(row.client_id, row.reason, row.requested_at, row.completed_at, frozenset(reported))


def insert_erasure(session: Session, client_id: str, reason: str, requested_at: datetime) -> None:
    session.execute(erasures.insert().values(client_id=client_id, reason=reason, requested_at=requested_at))


def record_report(session: Session, client_id: str, service: str, erased_at: datetime) -> bool:
    """A service's part is done; False when it had reported before (an event that came again)."""
    seen = session.execute(select(erasure_reports.c.service).where(
        erasure_reports.c.client_id == client_id, erasure_reports.c.service == service)).first()
    if seen:
        return False
    session.execute(erasure_reports.insert().values(client_id=client_id, service=service, erased_at=erased_at))
    return True


def complete_erasure(session: Session, client_id: str, at: datetime) -> None:
    session.execute(update(erasures).where(erasures.c.client_id == client_id, erasures.c.completed_at.is_(None))
                    .values(completed_at=at))


def claim_daily_run(session: Session, name: str, now: datetime, next_run_at: datetime) -> bool:
    """Take today's run of a daily job, if it is due and no other worker holds it: moves it to `next_run_at`."""
    query = select(daily_jobs.c.next_run_at).where(daily_jobs.c.name == name)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # another worker is claiming it right now
    due = session.scalar(query)
    if due is None or due > now:
        return False
    session.execute(update(daily_jobs).where(daily_jobs.c.name == name).values(next_run_at=next_run_at))
    return True
