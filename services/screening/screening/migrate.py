"""`python -m screening.migrate`: bring the screening database to the latest schema."""
from __future__ import annotations

from clinic_shared.migrations import upgrade

from .settings import load_screening_settings


def main() -> None:
    upgrade("screening", load_screening_settings().base.database_url)


if __name__ == "__main__":
    main()
