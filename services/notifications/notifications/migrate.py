"""`python -m notifications.migrate`: bring the notifications database to the newest schema."""
from clinic_shared.migrations import upgrade

from .settings import load_settings


def main() -> None:
    upgrade("notifications", load_settings().database_url)


if __name__ == "__main__":
    main()
