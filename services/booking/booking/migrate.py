"""`python -m booking.migrate`: bring the booking database to the newest schema."""
from __future__ import annotations

from clinic_shared.migrations import upgrade

from .settings import load_booking_settings


def main() -> None:
    upgrade("booking", load_booking_settings().base.database_url)


if __name__ == "__main__":
    main()
