"""Who is asking: checked before the body is parsed, so a non-admin on an admin endpoint gets 403, not 422."""
from __future__ import annotations

from flask import request

from clinic_shared.auth import authorised

from ..context import current_context


def staff_only(permission: str | None = None):
    """Decorate a view method: a staff token (with `permission` of the role matrix when named)."""
    return authorised(lambda: current_context().tokens.require_staff(request, permission))


def bearer_token() -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()
