"""Members and audit entries as the contract shows them: never a password or its hash."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from clinic_shared.datetimes import to_local_iso

from ..store.repository import AuditRecord, MemberRecord


def member_view(member: MemberRecord) -> dict:
    return {"id": member.id, "name": member.name, "email": member.email, "role": member.role,
            "practitioner_id": member.practitioner_id, "active": member.active}


def audit_entry_view(entry: AuditRecord, tz: ZoneInfo) -> dict:
    return {"id": entry.id, "at": to_local_iso(entry.at, tz),
            "actor": {"id": entry.actor_id, "name": entry.actor_name, "role": entry.actor_role},
            "action": entry.action, "resource": {"type": entry.resource_type, "id": entry.resource_id},
            "request_id": entry.request_id}
