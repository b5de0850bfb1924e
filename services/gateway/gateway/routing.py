"""Which service owns which public path (API.md): the gateway forwards `/api/...` unchanged."""
from __future__ import annotations

# The first segment after /api decides the owner; the rest of the path is the service's business.
OWNERS = {
    "screening": "screening",       # /api/screening/questionnaire
    "screenings": "screening",
    "auth": "screening",            # /api/auth/link, /api/auth/token: sign-in by e-mail, where clients are
    "treatments": "booking",
    "practitioners": "booking",
    "availability": "booking",
    "bookings": "booking",
    "courses": "booking",
    "closures": "booking",
    "waitlist": "booking",
    "notifications": "notifications",
    "staff": "staff",               # /api/staff/sessions, /api/staff/me, /api/staff/members
    "audit": "staff",
    "clients": "screening",         # /api/clients/{id}/erasure (the export is the gateway's own: client_export.py)
}


def owner_of(path: str) -> str | None:
    """The service that owns `path`, or None when no service does (the gateway answers 404)."""
    if not path.startswith("/api/"):
        return None
    segments = path[len("/api/"):].split("/")
    # HTTP clients collapse "." and "..": /api/bookings/../screenings would reach another path
    # than the one its owner was chosen by.
    if "." in segments or ".." in segments:
        return None
    if segments[0] == "clients" and segments[2:] == ["export"]:
        return None  # /api/clients/{id}/export: the gateway's own, gathered from every service
    return OWNERS.get(segments[0])
