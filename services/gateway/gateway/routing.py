"""Which service owns which public path (API.md): the gateway forwards `/api/...` unchanged."""
from __future__ import annotations

# The first segment after /api decides the owner; the rest of the path is the service's business.
OWNERS = {
    "screening": "screening",       # /api/screening/questionnaire
    "screenings": "screening",
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
    return OWNERS.get(segments[0])
