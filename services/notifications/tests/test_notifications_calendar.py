"""The .ics invitation (RFC 5545), built with `icalendar` and read back with it: the file parses, carries the
clinic's time zone on both sides of a clock change, and updates one event (same UID, higher SEQUENCE) on a
reschedule and a cancellation."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from notifications.domain.calendar import PRODID, CalendarEvent, build_ics, invitation_event, rules_years, zone_rules

LONDON = ZoneInfo("Europe/London")
STAMP = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def event(**changes):
    values = dict(booking_id="b-1", sequence=0, start=datetime(2026, 6, 1, 9, 0, tzinfo=LONDON),
                  end=datetime(2026, 6, 1, 10, 0, tzinfo=LONDON), summary="Micro needling (Face, Neck)",
                  description="Reference R-1; arrive early.\nThanks", location="IK Clinics",
                  organizer_name="IK Clinics", organizer_email="bookings@ikclinics.example",
                  attendee_name="Ada, Countess", attendee_email="ada@example.org", uid_domain="ikclinics.example",
                  timezone=LONDON)
    values.update(changes)
    return CalendarEvent(**values)


def parsed(ics: str):
    calendar = Calendar.from_ical(ics)
    [vevent] = calendar.walk("VEVENT")
    return calendar, vevent


def test_the_invitation_parses_and_says_what_it_should():
    ics = build_ics(event(sequence=2), stamp=STAMP)
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    calendar, vevent = parsed(ics)
    assert str(calendar["METHOD"]) == "REQUEST" and str(calendar["VERSION"]) == "2.0"
    assert str(vevent["UID"]) == "booking-b-1@ikclinics.example"
    assert int(vevent["SEQUENCE"]) == 2
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert vevent.decoded("DTSTAMP") == STAMP
    assert str(vevent["SUMMARY"]) == "Micro needling (Face, Neck)"  # escaped in the file, whole when read
    assert str(vevent["DESCRIPTION"]) == "Reference R-1; arrive early.\nThanks"
    assert str(vevent["ORGANIZER"]) == "mailto:bookings@ikclinics.example"
    assert vevent["ORGANIZER"].params["CN"] == "IK Clinics"
    assert str(vevent["ATTENDEE"]) == "mailto:ada@example.org" and vevent["ATTENDEE"].params["CN"] == "Ada, Countess"


@pytest.mark.parametrize("start, offset", [
    (datetime(2026, 3, 28, 9, 0, tzinfo=LONDON), timedelta(0)),  # the Saturday before the clocks go forward
    (datetime(2026, 3, 30, 9, 0, tzinfo=LONDON), timedelta(hours=1)),  # the Monday after: BST
    (datetime(2026, 10, 24, 9, 0, tzinfo=LONDON), timedelta(hours=1)),  # the Saturday before they go back
    (datetime(2026, 10, 26, 9, 0, tzinfo=LONDON), timedelta(0)),  # the Monday after: GMT again
])
def test_the_time_is_the_clinics_wall_clock_time_on_either_side_of_a_clock_change(start, offset):
    ics = build_ics(event(start=start, end=start + timedelta(hours=1)), stamp=STAMP)
    assert "DTSTART;TZID=Europe/London:" + start.strftime("%Y%m%dT%H%M%S") in ics
    calendar, vevent = parsed(ics)
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/London"
    assert vevent["DTSTART"].params["TZID"] == "Europe/London"
    read = vevent.decoded("DTSTART")
    assert read.utcoffset() == offset
    assert read.astimezone(timezone.utc) == start.astimezone(timezone.utc)
    assert (read.hour, read.minute) == (9, 0)
    zone = vtimezone.to_tz()  # the file's own VTIMEZONE, for a calendar that has no zone database
    assert datetime(start.year, start.month, start.day, 9, 0, tzinfo=zone).utcoffset() == offset


def test_the_time_zone_covers_both_changes_of_the_appointments_year():
    calendar, _ = parsed(build_ics(event(), stamp=STAMP))
    [vtimezone] = calendar.walk("VTIMEZONE")
    zone = vtimezone.to_tz()
    assert datetime(2026, 3, 29, 0, 30, tzinfo=zone).utcoffset() == timedelta(0)
    assert datetime(2026, 3, 29, 3, 0, tzinfo=zone).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 10, 25, 3, 0, tzinfo=zone).utcoffset() == timedelta(0)


def test_a_reschedule_updates_the_same_event_with_a_higher_sequence():
    _, first = parsed(build_ics(event(sequence=0), stamp=STAMP))
    later = datetime(2026, 6, 8, 14, 0, tzinfo=LONDON)
    _, moved = parsed(build_ics(event(sequence=1, start=later, end=later + timedelta(hours=1)),
                                stamp=STAMP + timedelta(days=1)))
    assert moved["UID"] == first["UID"]
    assert int(moved["SEQUENCE"]) > int(first["SEQUENCE"])
    assert moved.decoded("DTSTART").astimezone(timezone.utc) == later.astimezone(timezone.utc)


def test_a_cancellation_cancels_the_same_event_with_a_higher_sequence():
    _, first = parsed(build_ics(event(sequence=1), stamp=STAMP))
    calendar, cancelled = parsed(build_ics(event(sequence=2), stamp=STAMP, cancel=True))
    assert str(calendar["METHOD"]) == "CANCEL" and str(cancelled["STATUS"]) == "CANCELLED"
    assert cancelled["UID"] == first["UID"] and int(cancelled["SEQUENCE"]) > int(first["SEQUENCE"])


def test_long_lines_are_folded_at_75_octets_and_read_back_whole():
    ics = build_ics(event(description="é" * 200), stamp=STAMP)
    for line in ics.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert str(parsed(ics)[1]["DESCRIPTION"]) == "é" * 200


def test_a_double_quote_in_a_name_cannot_break_the_attendee_line():
    _, vevent = parsed(build_ics(event(attendee_name='Ada "The Countess" Lovelace'), stamp=STAMP))
    assert str(vevent["ATTENDEE"]) == "mailto:ada@example.org"
    assert vevent["ATTENDEE"].params["CN"] == "Ada The Countess Lovelace"


def test_another_clinic_zone_is_written_as_its_own():
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=new_york)  # the Monday after the US change
    ics = build_ics(event(start=start, end=start + timedelta(hours=1), timezone=new_york), stamp=STAMP)
    _, vevent = parsed(ics)
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"
    assert vevent.decoded("DTSTART").utcoffset() == timedelta(hours=-5)
    assert date(2026, 11, 2) == vevent.decoded("DTSTART").date()


def written_by_the_library(event: CalendarEvent, stamp: datetime, cancel: bool) -> str:
    """The whole calendar, zone's rules and event, written by `icalendar` in one go."""
    calendar = Calendar()
    for name, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"),
                        ("method", "CANCEL" if cancel else "REQUEST")):
        calendar.add(name, value)
    calendar.add_component(zone_rules(event.timezone, *rules_years(event)))
    calendar.add_component(invitation_event(event, stamp, cancel))
    return calendar.to_ical().decode("utf-8")


@pytest.mark.parametrize("cancel", [False, True])
@pytest.mark.parametrize("changes", [
    {}, {"description": "é" * 200, "attendee_name": 'Zoë "Z" Ångström-Núñez'},
    {"start": datetime(2027, 12, 31, 23, 30, tzinfo=LONDON), "end": datetime(2028, 1, 1, 0, 30, tzinfo=LONDON)},
    {"start": datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("America/New_York")),
     "end": datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")),
     "timezone": ZoneInfo("America/New_York")},
])
def test_the_zone_rules_written_once_give_the_librarys_very_text(changes, cancel):
    invitation = event(**changes)
    assert build_ics(invitation, stamp=STAMP, cancel=cancel) == written_by_the_library(invitation, STAMP, cancel)
