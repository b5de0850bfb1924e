"""`python -m screening.worker`: the outbox relay, the consumer of erasure reports and booking activity, and
the daily retention job."""
from __future__ import annotations

import threading

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.inbox import InboxProcessor
from clinic_shared.logs import configure_logging
from clinic_shared.worker import Periodic, WorkerParts, run_worker

from .client_data import RetentionJob
from .events import HANDLERS
from .settings import ScreeningSettings, load_screening_settings
from .store.tables import heartbeat, inbox, outbox

RETENTION_CHECK_SECONDS = 600.0  # how often a worker looks whether the day's run is due (a cheap query)


def worker_parts(settings: ScreeningSettings, engine) -> WorkerParts:
    session_factory = make_session_factory(engine)
    retention = RetentionJob(session_factory, settings.retention_days, settings.base.tz)
    return WorkerParts(settings=settings.base, session_factory=session_factory, outbox=outbox,
                       processor=InboxProcessor(session_factory, inbox, HANDLERS), heartbeat=heartbeat,
                       periodic=[Periodic(retention.run_retention, interval=RETENTION_CHECK_SECONDS)])


def run(settings: ScreeningSettings, stop: threading.Event | None = None) -> None:
    """Until `stop` is set (or SIGTERM/SIGINT when run as the main thread)."""
    engine = make_engine(settings.base.database_url, ping_on_checkout=False)
    try:
        run_worker(worker_parts(settings, engine), stop=stop)
    finally:
        engine.dispose()


def main() -> None:
    configure_logging("screening")
    run(load_screening_settings())


if __name__ == "__main__":
    main()
