"""`python -m screening.worker`: publishes the outbox. The screening service consumes no events."""
from __future__ import annotations

import threading

from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.logs import configure_logging
from clinic_shared.worker import WorkerParts, run_worker

from .settings import ScreeningSettings, load_screening_settings
from .store.tables import heartbeat, outbox


def run(settings: ScreeningSettings, stop: threading.Event | None = None) -> None:
    """The outbox relay until `stop` is set (or SIGTERM/SIGINT when run as the main thread)."""
    engine = make_engine(settings.base.database_url)
    try:
        run_worker(WorkerParts(settings=settings.base, session_factory=make_session_factory(engine),
                               outbox=outbox, heartbeat=heartbeat), stop=stop)
    finally:
        engine.dispose()


def main() -> None:
    configure_logging("screening")
    run(load_screening_settings())


if __name__ == "__main__":
    main()
