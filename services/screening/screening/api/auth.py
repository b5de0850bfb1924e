"""Who is asking: checked before the body is parsed, so a client on a staff endpoint gets 403, not 422."""
from __future__ import annotations

from flask import request

from clinic_shared.auth import TokenAuthority, authorised

from ..context import current_context

_CHECKS = {"optional": TokenAuthority.optional_principal, "principal": TokenAuthority.require_principal,
           "staff": TokenAuthority.require_staff}


def authorized(kind: str, permission: str | None = None):
    """Decorate a view method; `g.principal` is then the caller (None for an anonymous one).

    kind: "optional" (public, a token adds to it), "principal" (owner or staff), "staff" (with
    `permission` of the role matrix, clinic_shared.roles, when named).
    """
    if kind == "staff":
        return authorised(lambda: current_context().tokens.require_staff(request, permission))
    check = _CHECKS[kind]
    return authorised(lambda: check(current_context().tokens, request))
