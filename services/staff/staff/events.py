"""The events the staff service consumes: `audit.recorded` from every service, kept in the audit trail.

The inbox commits the entry and the event id together, so a redelivered event adds nothing; the event
id is also the entry's id (unique), a second guard that costs nothing.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .store.repository import append_audit_entry


def on_audit_recorded(session: Session, data: dict, envelope: dict) -> None:
    append_audit_entry(session, entry_id=envelope["event_id"], at=datetime.fromisoformat(data["at"]),
                       actor=data["actor"], action=data["action"], resource=data["resource"],
                       request_id=envelope.get("correlation_id"))


HANDLERS = {"audit.recorded": on_audit_recorded}
