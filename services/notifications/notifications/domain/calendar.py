"""An iCalendar (RFC 5545) invitation for one appointment, built with the `icalendar` library.

Times are written in the clinic's time zone (`DTSTART;TZID=Europe/London:…`) with its VTIMEZONE, covering
the clock changes of the years around the appointment, so a calendar shows the wall-clock time the
clinic means on either side of a change. The UID comes from the booking id, so a calendar updates the
same event when the booking is rescheduled (higher SEQUENCE) or cancelled (METHOD:CANCEL, STATUS:CANCELLED).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

PRODID = "-//Clinic booking//Notifications//EN"
CALENDAR_ENDS = "END:VCALENDAR\r\n"


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
    timezone: ZoneInfo = ZoneInfo("Europe/London")


def event_uid(booking_id: str, uid_domain: str) -> str:
    return f"booking-{booking_id}@{uid_domain}"


def _address(email: str, name: str, **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name.replace('"', ""))  # a DQUOTE cannot be quoted in a parameter
    address.params.update(params)
    return address


@lru_cache(maxsize=32)
def zone_rules(tz: ZoneInfo, first_year: int, last_year: int) -> Timezone:
    """The zone's VTIMEZONE from 1 January of `first_year` to 1 January of `last_year`: made once for every
    invitation of those years (a calendar only reads it)."""
    return Timezone.from_tzinfo(tz, tzid=tz.key, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1))


@lru_cache(maxsize=32)
def zone_rules_text(tz: ZoneInfo, first_year: int, last_year: int) -> str:
    """`zone_rules` as the library writes it (BEGIN:VTIMEZONE … END:VTIMEZONE, CRLF lines): written once too,
    since writing it cost as much as the rest of an invitation."""
    return zone_rules(tz, first_year, last_year).to_ical().decode("utf-8")


def build_ics(event: CalendarEvent, stamp: datetime, cancel: bool = False) -> str:
    """The invitation as `icalendar` writes a calendar of the zone's rules and the event (in that order), put
    together from what it writes of each part: the calendar's own lines and the zone's rules, the same for every
    invitation of the same method and years, are written once (`calendar_lines`, `zone_rules_text`), only the
    event each time. The same text: tests/test_notifications_calendar.py compares the two."""
    return (calendar_lines("CANCEL" if cancel else "REQUEST")
            + zone_rules_text(event.timezone, *rules_years(event))
            + invitation_event(event, stamp, cancel).to_ical().decode("utf-8")
            + CALENDAR_ENDS)


@lru_cache(maxsize=2)
def calendar_lines(method: str) -> str:
    """BEGIN:VCALENDAR and the calendar's properties, as the library writes them (CRLF lines)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar.to_ical().decode("utf-8").removesuffix(CALENDAR_ENDS)


def rules_years(event: CalendarEvent) -> tuple[int, int]:
    """The years of the zone's rules an invitation carries: those around the appointment, enough for any
    calendar, and a short file."""
    tz = event.timezone
    return event.start.astimezone(tz).year - 1, event.end.astimezone(tz).year + 2


def invitation_event(event: CalendarEvent, stamp: datetime, cancel: bool) -> Event:
    tz = event.timezone
    vevent = Event()
    vevent.add("uid", event_uid(event.booking_id, event.uid_domain))
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", stamp.astimezone(timezone.utc))
    vevent.add("dtstart", event.start.astimezone(tz))
    vevent.add("dtend", event.end.astimezone(tz))
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("location", event.location)
    vevent.add("organizer", _address(event.organizer_email, event.organizer_name))
    vevent.add("attendee", _address(event.attendee_email, event.attendee_name, ROLE="REQ-PARTICIPANT"))
    vevent.add("status", "CANCELLED" if cancel else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent
