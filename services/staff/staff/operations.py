"""What the service does, between HTTP and the store: sign in and out, members, the audit trail.

Each function runs inside the caller's transaction. The staff service's own actions go straight into
its audit table in that transaction; other services' arrive as `audit.recorded` events (events.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic_shared.staff_sessions import StaffIdentity

from .domain.lockout import locked_for_seconds, normalise_email
from .domain.passwords import hash_password, password_matches
from .domain.session_tokens import new_token, token_digest
from .settings import StaffSettings
from .store import repository as repo
from .store.repository import MemberRecord

MEMBER = "staff_member"


class EmailTaken(Exception):
    pass


class MemberNotFound(Exception):
    pass


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. Failures commit too: the attempt counts towards the lock."""
    member: MemberRecord | None = None
    token: str | None = None
    expires_at: datetime | None = None
    locked_seconds: int = 0  # > 0: locked, whatever the password

    @property
    def succeeded(self) -> bool:
        return self.token is not None


def identity(member: MemberRecord) -> StaffIdentity:
    return StaffIdentity(id=member.id, name=member.name, role=member.role, email=member.email,
                         practitioner_id=member.practitioner_id)


def audit(session: Session, actor: dict, action: str, resource_id: str | None, now: datetime,
          request_id: str | None) -> None:
    repo.append_audit_entry(session, entry_id=str(uuid.uuid4()), at=now, actor=actor, action=action,
                            resource={"type": MEMBER, "id": resource_id}, request_id=request_id)


def sign_in(session: Session, settings: StaffSettings, email: str, password: str, now: datetime,
            request_id: str | None = None) -> SignIn:
    email = normalise_email(email)
    window = timedelta(minutes=settings.failed_sign_in_window_minutes)
    wait = locked_for_seconds(repo.failed_sign_ins_since(session, email, now - window), now,
                              settings.failed_sign_in_limit, window)
    member = repo.member_by_email(session, email)
    if wait:
        return SignIn(locked_seconds=wait)  # not checked, not counted: the lock does not grow while it holds
    # The hash is checked even for an unknown e-mail (a decoy): the same work, the same answer.
    if not password_matches(member.password_hash if member else None, password) or not member.active:
        repo.add_failed_sign_in(session, email, now)
        actor = identity(member).actor if member else {"id": None, "name": "unknown e-mail", "role": None}
        audit(session, actor, "staff.sign_in_failed", member.id if member else None, now, request_id)
        return SignIn()
    token = new_token()
    expires_at = now + timedelta(hours=settings.session_hours)
    repo.insert_session(session, token_digest(token), member.id, now, expires_at)
    audit(session, identity(member).actor, "staff.signed_in", member.id, now, request_id)
    return SignIn(member=member, token=token, expires_at=expires_at)


def member_of_token(session: Session, token: str, now: datetime) -> MemberRecord | None:
    return repo.live_member_of_session(session, token_digest(token), now)


def sign_out(session: Session, token: str, now: datetime) -> None:
    repo.end_session(session, token_digest(token), now)


def create_member(session: Session, actor: dict, *, name: str, email: str, role: str, password: str,
                  practitioner_id: str | None, now: datetime, request_id: str | None = None) -> MemberRecord:
    email = normalise_email(email)
    if repo.member_by_email(session, email) is not None:
        raise EmailTaken(email)
    record = MemberRecord(id=str(uuid.uuid4()), name=name, email=email, role=role, practitioner_id=practitioner_id,
                          password_hash=hash_password(password), active=True, created_at=now)
    try:
        with session.begin_nested():  # two admins adding one e-mail at once: the unique index decides
            repo.insert_member(session, record)
    except IntegrityError as exc:
        raise EmailTaken(email) from exc
    audit(session, actor, "staff.member_created", record.id, now, request_id)
    return record


def change_member(session: Session, actor: dict, member_id: str, changes: dict, now: datetime,
                  request_id: str | None = None) -> MemberRecord:
    """Apply any of name, role, password, practitioner_id, active. Made inactive, or given a new
    password, the member is signed out everywhere."""
    member = repo.member_by_id(session, member_id)
    if member is None:
        raise MemberNotFound(member_id)
    if not changes:
        return member
    values = {k: v for k, v in changes.items() if k in ("name", "role", "practitioner_id", "active")}
    if "password" in changes:
        values["password_hash"] = hash_password(changes["password"])
    if values:
        repo.update_member(session, member_id, **values)
    if "password" in changes or changes.get("active") is False:
        repo.end_sessions_of(session, member_id, now)
    audit(session, actor, "staff.member_changed", member_id, now, request_id)
    return replace(member, **values)


def ensure_first_admin(session: Session, email: str, password: str, now: datetime) -> MemberRecord | None:
    """On first start (no member yet) make the one admin; afterwards do nothing."""
    if repo.count_members(session):
        return None
    return create_member(session, {"id": "operator", "name": "first start", "role": "admin"}, name="Administrator",
                         email=email, role="admin", password=password, practitioner_id=None, now=now)
