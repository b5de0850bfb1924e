"""`python -m booking.worker`: consume the screening events into the projection, relay the outbox."""
from __future__ import annotations

from clinic_shared.db import make_engine, make_session_factory, utcnow
from clinic_shared.inbox import InboxProcessor
from clinic_shared.logs import configure_logging
from clinic_shared.worker import WorkerParts, run_worker

from .events import handlers
from .settings import BookingSettings, load_booking_settings
from .store.tables import heartbeat, inbox, outbox


def make_processor(session_factory, clock=utcnow) -> InboxProcessor:
    return InboxProcessor(session_factory, inbox, handlers(clock))


def worker_parts(settings: BookingSettings) -> WorkerParts:
    session_factory = make_session_factory(make_engine(settings.base.database_url))
    return WorkerParts(settings=settings.base, session_factory=session_factory, outbox=outbox,
                       processor=make_processor(session_factory), heartbeat=heartbeat)


def main() -> None:
    configure_logging("booking")
    run_worker(worker_parts(load_booking_settings()))


if __name__ == "__main__":
    main()
