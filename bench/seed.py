"""50,000 bookings in a booking database: a year ahead partly full, the rest history.

Inserted straight into the booking service's own `bookings` table (its SQLAlchemy table, so columns and
types are the service's), laid out so that no two confirmed bookings of one practitioner overlap with
turnover: PostgreSQL's exclusion constraint accepts every row. The diary is deterministic (a seeded random).
"""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import create_engine, func, select

from booking.domain.clinic import ClinicRules
from booking.domain.hours import at_local
from booking.domain.lifecycle import COMPLETED, CONFIRMED
from booking.store.tables import bookings

TOTAL = 50_000
AHEAD_FULL = 0.5  # share of the year ahead's places already taken
SESSION = timedelta(minutes=60)  # a face treatment


def day_places(day: date, rules: ClinicRules) -> list[datetime]:
    """Starts of back-to-back 60-minute sessions (plus turnover) from opening until closing."""
    step = SESSION + timedelta(minutes=rules.turnover_minutes)
    start, closes = at_local(day, rules.opens, rules), at_local(day, rules.closes, rules)
    places = []
    while start + SESSION <= closes:
        places.append(start)
        start += step
    return places


def diary(today: date, rules: ClinicRules, total: int = TOTAL, seed: int = 7):
    """(status, practitioner, start) for `total` bookings: a year from tomorrow partly full, then history
    backwards from yesterday until the total is reached."""
    chance = random.Random(seed)
    rows = []
    day = today + timedelta(days=1)
    while day <= today + timedelta(days=rules.horizon_days - 1) and len(rows) < total:
        if day.weekday() in rules.open_weekdays:
            rows += [(CONFIRMED, p, start) for start in day_places(day, rules) for p in rules.practitioners
                     if chance.random() < AHEAD_FULL]
        day += timedelta(days=1)
    day = today - timedelta(days=1)
    while len(rows) < total:
        if day.weekday() in rules.open_weekdays:
            rows += [(COMPLETED, p, start) for start in day_places(day, rules) for p in rules.practitioners]
        day -= timedelta(days=1)
    return rows[:total]


def seed_bookings(database_url: str, today: date, rules: ClinicRules, total: int = TOTAL) -> int:
    """Insert the diary; returns how many bookings the table holds afterwards."""
    turnover = timedelta(minutes=rules.turnover_minutes)
    engine = create_engine(database_url)
    rows = []
    for n, (status, practitioner, start) in enumerate(diary(today, rules, total)):
        end = start + SESSION
        rows.append({
            "id": str(uuid.uuid4()), "reference": f"SEED{n:08d}", "status": status, "type": "treatment",
            "areas": ["face"], "start_at": start, "end_at": end, "blocked_until": end + turnover,
            "practitioner_id": practitioner.id, "practitioner_name": practitioner.name,
            "client_id": f"seed-client-{n % 9000}", "screening_id": f"seed-screening-{n}",
            "created_at": start - timedelta(days=30), "version": 1,
            "completed_at": end if status == COMPLETED else None})
    with engine.begin() as connection:
        for first in range(0, len(rows), 5000):
            connection.execute(bookings.insert(), rows[first:first + 5000])
        count = connection.scalar(select(func.count()).select_from(bookings))
    engine.dispose()
    return count


def main() -> None:
    """Seed the booking database the environment names (as `make run`'s settings do), up to tomorrow's
    local date in the clinic's zone: bench/bench_system.py runs this between migrations and start."""
    from datetime import timezone

    from booking.settings import load_booking_settings

    settings = load_booking_settings()
    today = datetime.now(timezone.utc).astimezone(settings.rules.timezone).date()
    count = seed_bookings(settings.base.database_url, today, settings.rules)
    print(f"seeded: the bookings table holds {count} bookings")


if __name__ == "__main__":
    main()
