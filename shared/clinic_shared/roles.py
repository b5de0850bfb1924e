"""What each staff role may do (API.md "Staff accounts and roles"): the one matrix every service checks.

A permission names a group of endpoints; a service's endpoint asks `may(role, permission)` (through
`Principal.may` or `TokenAuthority.require_staff`) so that a request that skips the gateway gets no
more than one through it.
"""
from __future__ import annotations

ADMIN, PRACTITIONER, RECEPTION = "admin", "practitioner", "reception"
ROLES = (ADMIN, PRACTITIONER, RECEPTION)
_EVERY_ROLE = frozenset(ROLES)

# permission -> the roles that have it
MATRIX: dict[str, frozenset[str]] = {
    "bookings": _EVERY_ROLE,            # list, read, cancel, reschedule, complete; courses; waitlist
    "screenings": _EVERY_ROLE,          # list and read (without answers unless screening_answers)
    "screening_answers": frozenset({ADMIN, PRACTITIONER}),  # health data
    "clearance": frozenset({ADMIN, PRACTITIONER}),
    "closures": _EVERY_ROLE,
    "notifications": _EVERY_ROLE,       # list, retry
    "staff_members": frozenset({ADMIN}),
    "audit": frozenset({ADMIN}),
    "client_data": frozenset({ADMIN}),  # client export and erasure
}
PERMISSIONS = tuple(MATRIX)


def may(role: str | None, permission: str) -> bool:
    """Whether a staff role has a permission; an unknown permission is a programming error."""
    if permission not in MATRIX:
        raise KeyError(f"unknown permission {permission!r}")
    return role in MATRIX[permission]
