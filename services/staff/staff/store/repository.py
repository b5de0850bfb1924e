"""Reading and writing members, sessions, failed sign-ins and the audit trail. Callers own the transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clinic_shared.paging import Position, keyset

from .tables import audit_entries, failed_sign_ins, members, sessions


@dataclass(frozen=True)
class MemberRecord:
    id: str
    name: str
    email: str
    role: str
    practitioner_id: str | None
    password_hash: str
    active: bool
    created_at: datetime


# ----- members ------------------------------------------------------------------------------

def insert_member(session: Session, record: MemberRecord) -> None:
    session.execute(members.insert().values(**record.__dict__))


def member_by_id(session: Session, member_id: str) -> MemberRecord | None:
    row = session.execute(select(members).where(members.c.id == member_id)).mappings().first()
    return MemberRecord(**row) if row else None


def member_by_email(session: Session, email: str) -> MemberRecord | None:
    row = session.execute(select(members).where(members.c.email == email)).mappings().first()
    return MemberRecord(**row) if row else None


def list_members(session: Session) -> list[MemberRecord]:
    return [MemberRecord(**row) for row in
            session.execute(select(members).order_by(members.c.created_at, members.c.id)).mappings()]


def count_members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(members))


def update_member(session: Session, member_id: str, **values) -> None:
    session.execute(update(members).where(members.c.id == member_id).values(**values))


# ----- sessions -----------------------------------------------------------------------------

def insert_session(session: Session, digest: str, member_id: str, created_at: datetime, expires_at: datetime) -> None:
    session.execute(sessions.insert().values(token_digest=digest, member_id=member_id, created_at=created_at,
                                             expires_at=expires_at, ended_at=None))


def live_member_of_session(session: Session, digest: str, now: datetime) -> MemberRecord | None:
    """The active member a session token signs in, while the session has not ended or expired."""
    row = session.execute(
        select(members).join(sessions, sessions.c.member_id == members.c.id)
        .where(sessions.c.token_digest == digest, sessions.c.ended_at.is_(None),
               sessions.c.expires_at > now, members.c.active.is_(True))).mappings().first()
    return MemberRecord(**row) if row else None


def end_session(session: Session, digest: str, now: datetime) -> None:
    session.execute(update(sessions).where(sessions.c.token_digest == digest, sessions.c.ended_at.is_(None))
                    .values(ended_at=now))


def end_sessions_of(session: Session, member_id: str, now: datetime) -> int:
    """Sign a member out everywhere."""
    return session.execute(update(sessions).where(sessions.c.member_id == member_id, sessions.c.ended_at.is_(None))
                           .values(ended_at=now)).rowcount


# ----- failed sign-ins ----------------------------------------------------------------------

def add_failed_sign_in(session: Session, email: str, at: datetime) -> None:
    session.execute(failed_sign_ins.insert().values(email=email, at=at))


def failed_sign_ins_since(session: Session, email: str, since: datetime) -> list[datetime]:
    return list(session.scalars(select(failed_sign_ins.c.at)
                                .where(failed_sign_ins.c.email == email, failed_sign_ins.c.at > since)))


# ----- the audit trail ----------------------------------------------------------------------

@dataclass(frozen=True)
class AuditRecord:
    seq: int
    id: str
    at: datetime
    actor_id: str | None
    actor_name: str
    actor_role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    request_id: str | None


def append_audit_entry(session: Session, *, entry_id: str, at: datetime, actor: dict, action: str,
                       resource: dict, request_id: str | None) -> None:
    session.execute(audit_entries.insert().values(
        id=entry_id, at=at, actor_id=actor.get("id"), actor_name=actor["name"], actor_role=actor.get("role"),
        action=action, resource_type=resource["type"], resource_id=resource.get("id"), request_id=request_id))


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    resource_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def audit_page(session: Session, where: AuditFilter, limit: int, after: Position | None) -> list[AuditRecord]:
    """Newest first by (at, seq), from after `after` (the last entry of the previous page): up to
    `limit` + 1 entries, the extra one saying that there is a next page (clinic_shared.paging)."""
    query = select(audit_entries)
    if where.actor is not None:
        query = query.where(audit_entries.c.actor_id == where.actor)
    if where.resource_id is not None:
        query = query.where(audit_entries.c.resource_id == where.resource_id)
    if where.action is not None:
        query = query.where(audit_entries.c.action == where.action)
    if where.since is not None:
        query = query.where(audit_entries.c.at >= where.since)
    if where.until is not None:
        query = query.where(audit_entries.c.at < where.until)
    query = keyset(query, audit_entries.c.at, audit_entries.c.seq, after, limit, descending=True)
    return [AuditRecord(**row) for row in session.execute(query).mappings()]
