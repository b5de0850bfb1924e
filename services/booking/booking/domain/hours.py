"""Opening hours, closures and the slot grid, all judged in the clinic's local wall-clock time."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Collection

from .clinic import ClinicRules
from .violations import RuleViolation


def local(moment: datetime, rules: ClinicRules) -> datetime:
    # Through UTC: astimezone() to the zone a value already carries would not normalise it.
    return moment.astimezone(timezone.utc).astimezone(rules.timezone)


def at_local(day: date, wall_time, rules: ClinicRules) -> datetime:
    """The aware instant of a local wall-clock time on a day (zoneinfo resolves DST)."""
    return datetime.combine(day, wall_time, tzinfo=rules.timezone)


def is_open_day(day: date, rules: ClinicRules, closed_dates: Collection[date] = ()) -> bool:
    return day.weekday() in rules.open_weekdays and day not in closed_dates


def opening_window(day: date, rules: ClinicRules) -> tuple[datetime, datetime]:
    return at_local(day, rules.opens, rules), at_local(day, rules.closes, rules)


def check_opening_hours(start: datetime, end: datetime, rules: ClinicRules,
                        closed_dates: Collection[date] = ()) -> None:
    """The booking must start AND end inside the hours of one open day (ending at closing is fine)."""
    day = local(start, rules).date()
    check_open_day(day, rules, closed_dates)
    opens, closes = opening_window(day, rules)
    if start < opens or end > closes:
        raise _outside_hours(rules)


def check_open_day(day: date, rules: ClinicRules, closed_dates: Collection[date] = ()) -> None:
    """A closure day staff entered is `clinic_closed`; a weekday the clinic never opens (Sunday) is simply
    outside its opening hours, as API.md's clients expect."""
    if day in closed_dates:
        raise RuleViolation("clinic_closed", f"The clinic is closed on {day.isoformat()} (a closure day).",
                            {"date": day.isoformat()})
    if day.weekday() not in rules.open_weekdays:
        raise _outside_hours(rules)


def _outside_hours(rules: ClinicRules) -> RuleViolation:
    return RuleViolation(
        "outside_opening_hours",
        f"Bookings must start and end between {rules.opens:%H:%M} and {rules.closes:%H:%M}.",
        {"opens": rules.opens.strftime("%H:%M"), "closes": rules.closes.strftime("%H:%M")})


def on_grid(start: datetime, rules: ClinicRules) -> bool:
    wall = local(start, rules)
    minutes = wall.hour * 60 + wall.minute - (rules.opens.hour * 60 + rules.opens.minute)
    return wall.second == 0 and wall.microsecond == 0 and minutes % rules.slot_minutes == 0


def check_grid(start: datetime, rules: ClinicRules) -> None:
    if not on_grid(start, rules):
        raise RuleViolation("invalid_slot",
                            f"Start times lie on a {rules.slot_minutes}-minute grid from "
                            f"{rules.opens:%H:%M} (e.g. {rules.opens:%H:%M}, "
                            f"{(datetime.combine(date.min, rules.opens) + timedelta(minutes=rules.slot_minutes)):%H:%M}).",
                            {"slot_minutes": rules.slot_minutes})


def grid_starts(day: date, duration: timedelta, rules: ClinicRules) -> list[datetime]:
    """Every start on the day's grid whose session also ends by closing time."""
    opens, closes = opening_window(day, rules)
    step = timedelta(minutes=rules.slot_minutes)
    starts = []
    wall = datetime.combine(day, rules.opens)
    while True:
        # Walk in wall-clock time so that a DST change never shifts the grid.
        start = wall.replace(tzinfo=rules.timezone)
        if start + duration > closes or wall.date() != day:
            return starts
        exists = local(start, rules).replace(tzinfo=None) == wall  # not in a spring-forward gap
        if start >= opens and exists:
            starts.append(start)
        wall += step
