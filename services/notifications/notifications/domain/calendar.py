"""An iCalendar (RFC 5545) invitation for one appointment, built by hand.

The UID comes from the booking id, so a calendar updates the same event when the booking is
rescheduled (higher SEQUENCE) or cancelled (METHOD:CANCEL, STATUS:CANCELLED).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class CalendarEvent:
    booking_id: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    location: str
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    uid_domain: str


def escape_text(value: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newlines are escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def quote_param(value: str) -> str:
    """A parameter value (CN=...) with characters that need quoting quoted; DQUOTE itself is dropped."""
    value = value.replace('"', "")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def utc_stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Lines longer than 75 octets are folded: CRLF followed by a space (RFC 5545 3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, size = [], "", 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def build_ics(event: CalendarEvent, stamp: datetime, cancel: bool = False) -> str:
    method = "CANCEL" if cancel else "REQUEST"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinic booking//Notifications//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:booking-{event.booking_id}@{event.uid_domain}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DTEND:{utc_stamp(event.end)}",
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(event.description)}",
        f"LOCATION:{escape_text(event.location)}",
        f"ORGANIZER;CN={quote_param(event.organizer_name)}:mailto:{event.organizer_email}",
        f"ATTENDEE;CN={quote_param(event.attendee_name)};ROLE=REQ-PARTICIPANT:mailto:{event.attendee_email}",
        f"STATUS:{'CANCELLED' if cancel else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
