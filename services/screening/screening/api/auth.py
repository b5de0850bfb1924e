"""Who is asking: checked before the body is parsed, so a client on a staff endpoint gets 403, not 422."""
from __future__ import annotations

import functools

from flask import g, request

from ..context import current_context


def authorized(kind: str):
    """Decorate a view method; `g.principal` is then the caller (None for an anonymous one).

    kind: "optional" (public, a token adds to it), "principal" (owner or staff), "staff".
    """
    def decorator(view):
        @functools.wraps(view)  # keeps flask-smorest's documentation attributes
        def wrapper(*args, **kwargs):
            tokens = current_context().tokens
            check = {"optional": tokens.optional_principal, "principal": tokens.require_principal,
                     "staff": tokens.require_staff}[kind]
            g.principal = check(request)
            return view(*args, **kwargs)
        return wrapper
    return decorator
