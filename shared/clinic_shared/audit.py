"""Recording what a member of staff did, as an `audit.recorded` event in the service's own outbox.

Written in the same transaction as the change it reports (or the read, for `screening.answers_read`),
so the trail has an entry exactly when the action happened; the staff service's worker keeps the trail.
An entry names the actor, the action and the resource by id, never what it contained.
"""
from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.orm import Session

from .auth import Principal
from .db import utcnow
from .outbox import add_event


def record_audit(session: Session, outbox: Table, principal: Principal | None, action: str,
                 resource_type: str, resource_id: str | None, *, producer: str,
                 correlation_id: str | None) -> None:
    """Add the audit event when `principal` is staff; a client acting on their own data is not audited."""
    if principal is None or not principal.is_staff or principal.staff is None:
        return
    add_event(session, outbox, "audit.recorded", {
        "actor": principal.staff.actor, "action": action,
        "resource": {"type": resource_type, "id": resource_id}, "at": utcnow().isoformat(),
    }, producer=producer, correlation_id=correlation_id)
