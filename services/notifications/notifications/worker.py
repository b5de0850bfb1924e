"""`python -m notifications.worker`: event consumer, e-mail dispatcher and outbox relay."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from clinic_shared.db import make_engine, make_session_factory, utcnow
from clinic_shared.inbox import InboxProcessor
from clinic_shared.logs import configure_logging
from clinic_shared.worker import Periodic, WorkerParts, run_worker

from .delivery import make_transport
from .dispatcher import Dispatcher
from .events import EventHandlers
from .settings import NotificationSettings, load_settings
from .store.repository import DUE_NOW_CHANNEL, Repository
from .store.tables import make_tables


def build_parts(settings: NotificationSettings, clock: Callable[[], datetime] = utcnow) -> WorkerParts:
    """The worker's composition root: the same wiring the tests use."""
    session_factory = make_session_factory(make_engine(settings.database_url, ping_on_checkout=False))
    tables = make_tables()
    repository = Repository(tables)
    processor = InboxProcessor(session_factory, tables.inbox,
                               EventHandlers(settings, repository, clock).as_dict())
    dispatcher = Dispatcher(session_factory, repository, make_transport(settings), settings, clock)
    return WorkerParts(settings=settings, session_factory=session_factory, outbox=tables.outbox,
                       processor=processor, heartbeat=tables.heartbeat,
                       periodic=[Periodic(dispatcher.dispatch_due, wake_channel=DUE_NOW_CHANNEL)])


def main() -> None:
    configure_logging("notifications")
    run_worker(build_parts(load_settings()))


if __name__ == "__main__":
    main()
