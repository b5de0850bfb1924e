"""Bearer tokens: staff tokens (a member's session, or the operator key), and signed, expiring client tokens.

A client token names one client id and nothing else; it is signed with the shared secret key, so
every service checks it without asking another. A *booking token* (the manage link in every booking
e-mail, API.md "Clients who come back") is a client token limited to one booking until that booking
ends: it is signed under its own salt, so a service that does not know booking tokens refuses one
(401) instead of taking it for a whole client's token, and every endpoint refuses it (403) unless it
says it serves a booking token (`booking_scope=True`) and then checks `Principal.booking_id` itself.
A member of staff's session token is checked with the staff service (`staff_sessions`); the operator
key (CLINIC_STAFF_TOKEN) is the `admin` role and needs nobody. What each role may do is `roles.MATRIX`.
"""
from __future__ import annotations

import functools
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Request, g
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from . import request_transaction, roles
from .errors import ApiError
from .staff_sessions import OPERATOR, StaffIdentity, StaffSessions, looks_like_session_token

_SALT = "clinic-client-token"
_BOOKING_SALT = "clinic-booking-token"


@dataclass(frozen=True)
class Principal:
    role: str  # "staff" or "client"
    client_id: str | None = None
    staff: StaffIdentity | None = None  # who, for staff (the operator key: OPERATOR)
    booking_id: str | None = None  # a booking token: this one booking of the client, nothing else

    @property
    def is_booking_scoped(self) -> bool:
        return self.booking_id is not None

    def may_see_booking(self, booking_id: str) -> bool:
        """Whether the booking is within a booking token's scope (any booking for other principals;
        ownership is still the caller's to check)."""
        return self.booking_id is None or self.booking_id == booking_id

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def staff_role(self) -> str | None:
        """admin, practitioner or reception; None for a client."""
        return self.staff.role if self.staff is not None else None

    def may(self, permission: str) -> bool:
        """Whether this caller has a permission of the role matrix (a client has none)."""
        return self.is_staff and roles.may(self.staff_role, permission)

    def may_see(self, owner_client_id: str) -> bool:
        return self.is_staff or self.client_id == owner_client_id


class TokenAuthority:
    def __init__(self, secret_key: str, staff_token: str, client_token_ttl_seconds: int,
                 staff_sessions: StaffSessions | None = None, revoked: Callable[[str], bool] | None = None):
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        # Untimed: its end is in the payload, so one booking and end always give the same token (a message
        # rendered twice reads the same).
        self._booking_serializer = URLSafeSerializer(secret_key, salt=_BOOKING_SALT)
        self._staff_token = staff_token
        self._ttl = client_token_ttl_seconds
        self._staff_sessions = staff_sessions
        self._revoked = revoked  # client id -> erased? (clinic_shared.erasure.ErasedClients)

    @classmethod
    def from_settings(cls, settings, revoked: Callable[[str], bool] | None = None) -> "TokenAuthority":
        """The authority of a service: its secrets, the staff service to check session tokens with, and
        (`revoked`) the service's own list of erased clients, whose tokens no longer work."""
        sessions = StaffSessions(settings.service_urls["staff"], settings.staff_token) \
            if settings.service_urls.get("staff") else None
        return cls(settings.secret_key, settings.staff_token, settings.client_token_ttl_seconds, sessions,
                   revoked=revoked)

    def issue_client_token(self, client_id: str) -> str:
        return self._serializer.dumps({"client_id": client_id})

    def issue_booking_token(self, client_id: str, booking_id: str, until: datetime) -> str:
        """A client token for one booking, valid until `until` (the booking's end)."""
        return self._booking_serializer.dumps(
            {"client_id": client_id, "booking_id": booking_id, "until": int(until.timestamp())})

    def _booking_principal(self, token: str) -> Principal | None:
        try:
            data = self._booking_serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        client_id, booking_id, until = data.get("client_id"), data.get("booking_id"), data.get("until")
        if not (isinstance(client_id, str) and isinstance(booking_id, str) and isinstance(until, int)):
            return None
        if time.time() > until:
            return None  # the booking has ended: so has its link
        if self._revoked is not None and self._revoked(client_id):
            return None  # an erased client's manage links end with them
        return Principal("client", client_id, booking_id=booking_id)

    def principal_for(self, token: str) -> Principal | None:
        """The principal a raw token stands for, or None when it is bad or expired."""
        if hmac.compare_digest(token.encode(), self._staff_token.encode()):
            return Principal("staff", staff=OPERATOR)
        if looks_like_session_token(token):
            member = self._staff_sessions.identity(token) if self._staff_sessions is not None else None
            return Principal("staff", staff=member) if member is not None else None
        try:
            data = self._serializer.loads(token, max_age=self._ttl)
        except SignatureExpired:
            return None
        except BadSignature:
            return self._booking_principal(token)
        client_id = data.get("client_id") if isinstance(data, dict) else None
        if not isinstance(client_id, str):
            return None
        if self._revoked is not None and self._revoked(client_id):
            return None  # an erased client: the signature is good, the person is gone
        return Principal("client", client_id)

    def optional_principal(self, request: Request, booking_scope: bool = False) -> Principal | None:
        """None without a token; 401 for a bad one (a wrong token is never treated as none); 403 for a
        booking token unless the endpoint serves one (`booking_scope`)."""
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        principal = self.principal_for(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise ApiError(401, "unauthorized", "The bearer token is invalid or has expired.")
        if principal.is_booking_scoped and not booking_scope:
            raise ApiError(403, "forbidden", "This link opens one booking only; sign in by e-mail to do more.",
                           {"booking_id": principal.booking_id})
        return principal

    def require_principal(self, request: Request, booking_scope: bool = False) -> Principal:
        principal = self.optional_principal(request, booking_scope)
        if principal is None:
            raise ApiError(401, "unauthorized", "A bearer token is required.")
        return principal

    def require_staff(self, request: Request, permission: str | None = None) -> Principal:
        """A staff token, with `permission` of the role matrix when one is named."""
        return _staff_with(self.require_principal(request), permission)

    def require_own_or_staff(self, request: Request, client_id: str, permission: str) -> Principal:
        """The client themselves, or staff with `permission` (API.md "A client's data": admin, or the client
        for their own). Another client's id answers 404, exactly as one nobody has."""
        principal = self.require_principal(request)
        if principal.is_staff:
            return _staff_with(principal, permission)
        if principal.client_id != client_id:
            raise ApiError(404, "not_found", "No such client.")
        return principal

    def require_client(self, request: Request, booking_scope: bool = False) -> Principal:
        principal = self.require_principal(request, booking_scope)
        if principal.is_staff:
            raise ApiError(403, "forbidden", "This needs a client token: bookings belong to a client.")
        return principal


def _staff_with(principal: Principal, permission: str | None) -> Principal:
    """`principal` if it is staff with `permission` (when one is named); 403 otherwise."""
    if not principal.is_staff:
        raise ApiError(403, "forbidden", "Only staff may do this.")
    if permission is not None and not principal.may(permission):
        raise ApiError(403, "forbidden", f"The {principal.staff_role} role may not do this.",
                       {"role": principal.staff_role, "permission": permission})
    return principal


def authorised(check: Callable[[], Principal | None], shares_transaction: bool = False):
    """Decorate a view method (outermost, above flask-smorest's decorators): `check` runs before the
    body is parsed, so a bad body without a token is still 401 and a client on a staff endpoint 403,
    not 422. The principal it returns is `g.principal` for the view.

    `shares_transaction`: the check's database read (the revocation check) begins the transaction the view's
    `db.transaction` then continues (clinic_shared.request_transaction): only for a view whose database work
    is that one transaction, with no read of its own before it."""
    def decorate(view):
        @functools.wraps(view)  # keeps flask-smorest's documentation attributes
        def wrapper(*args, **kwargs):
            if shares_transaction:
                request_transaction.offer()
            g.principal = check()
            return view(*args, **kwargs)
        return wrapper
    return decorate
