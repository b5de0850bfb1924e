"""`python -m staff.worker`: keeps the audit trail from every service's `audit.recorded` events."""
from __future__ import annotations

import threading

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.inbox import InboxProcessor
from clinic_shared.logs import configure_logging
from clinic_shared.worker import WorkerParts, run_worker

from .events import HANDLERS
from .settings import StaffSettings, load_staff_settings
from .store.tables import heartbeat, inbox, outbox


def build_parts(settings: StaffSettings) -> WorkerParts:
    """The worker's composition root: the same wiring the tests use."""
    session_factory = make_session_factory(make_engine(settings.base.database_url, ping_on_checkout=False))
    return WorkerParts(settings=settings.base, session_factory=session_factory, outbox=outbox,
                       processor=InboxProcessor(session_factory, inbox, HANDLERS), heartbeat=heartbeat)


def run(settings: StaffSettings, stop: threading.Event | None = None) -> None:
    run_worker(build_parts(settings), stop=stop)


def main() -> None:
    configure_logging("staff")
    run(load_staff_settings())


if __name__ == "__main__":
    main()
