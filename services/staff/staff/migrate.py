"""`python -m staff.migrate`: bring the staff database to the latest schema, then make the first admin."""
from __future__ import annotations

from clinic_shared.migrations import upgrade

from .first_admin import make_first_admin
from .settings import load_staff_settings


def main() -> None:
    settings = load_staff_settings()
    upgrade("staff", settings.base.database_url)
    make_first_admin(settings)


if __name__ == "__main__":
    main()
