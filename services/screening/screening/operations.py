"""What the service does, between HTTP and the store: judge, record, and report through the outbox.

Each function runs inside the caller's transaction, so the screening row and its event commit together.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic_shared.audit import record_audit
from clinic_shared.auth import Principal
from clinic_shared.datetimes import to_local_iso
from clinic_shared.outbox import add_event

from .domain import sign_in
from .domain.clearance import ClearanceNotAllowed, cleared_outcome
from .domain.evaluation import evaluate
from .domain.ruleset import RuleSet
from .domain.validity import valid_until
from .settings import SERVICE
from .store import repository
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


class TooManySignInLinks(Exception):
    """This e-mail asked for too many links lately."""

    def __init__(self, wait_seconds: int):
        super().__init__(f"wait {wait_seconds} s")
        self.wait_seconds = wait_seconds


class SignInCodeNotValid(Exception):
    """Unknown, used or expired: the caller learns no more than that."""


CODES_KEPT_AFTER_EXPIRY = timedelta(days=1)  # then deleted: an expired code is of no use to anyone


def request_sign_in_link(session: Session, *, email: str, now: datetime, policy: sign_in.SignInPolicy,
                         tz: ZoneInfo, correlation_id: str | None = None) -> None:
    """Make a one-time code for the client with this e-mail and publish `client.sign_in_requested`.

    Known e-mail or not, the same rows are read and a code row is written (for an unknown one, a code that
    never works), so the answer and its time say nothing about who is a client; only the event differs,
    and it is sent by another process."""
    key = sign_in.email_key(email)
    wait = sign_in.link_wait_seconds(
        repository.sign_in_requests_since(session, key, now - policy.email_window), now, policy)
    if wait:
        raise TooManySignInLinks(wait)
    repository.delete_sign_in_codes_expired_before(session, now - CODES_KEPT_AFTER_EXPIRY)
    newest = repository.newest_screening_by_email(session, email)
    code, expires = sign_in.new_code(), sign_in.expires_at(now, policy)
    repository.insert_sign_in_code(session, code_hash=sign_in.code_hash(code), email_key=key,
                                   client_id=newest.client_id if newest else None, created_at=now,
                                   expires_at=expires)
    if newest is None:
        return
    add_event(session, outbox, "client.sign_in_requested", {
        "request_id": str(uuid.uuid4()), "client_id": newest.client_id,
        "client": {"name": newest.client_name, "email": newest.client_email, "phone": newest.client_phone},
        "code": code, "expires_at": to_local_iso(expires, tz),
    }, producer=SERVICE, correlation_id=correlation_id)


def exchange_sign_in_code(session: Session, *, code: str, now: datetime) -> ScreeningRecord:
    """Use a code once; the client's newest screening (their id and contact) comes back."""
    digest = sign_in.code_hash(code)
    row = repository.sign_in_code(session, digest, lock=True)
    if row is None or not sign_in.code_works(row.created_at, row.expires_at, row.used_at, row.client_id, now):
        raise SignInCodeNotValid()
    if not repository.mark_sign_in_code_used(session, digest, now):
        raise SignInCodeNotValid()  # used by a concurrent exchange a moment ago
    newest = repository.newest_screening_of_client(session, row.client_id)
    if newest is None:  # the client's data is gone (erased) since the link was sent
        raise SignInCodeNotValid()
    return newest


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
