"""`python -m booking.worker`: consume the screening events into the projection, client erasures, and the
service's own freeing changes into waitlist offers, release offers that ran out (every few seconds), relay the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from clinic_shared.db import make_engine, make_session_factory, utcnow
from clinic_shared.inbox import InboxProcessor
from clinic_shared.logs import configure_logging
from clinic_shared.worker import Periodic, WorkerParts, run_worker

from .events import handlers
from .settings import BookingSettings, load_booking_settings
from .store.tables import heartbeat, inbox, outbox
from .waitlist_offers import EXPIRY_INTERVAL_SECONDS, WaitlistOffers


def make_processor(session_factory, clock: Callable[[], datetime] = utcnow,
                   offers: WaitlistOffers | None = None) -> InboxProcessor:
    """The consumer's handlers: the screening projection and erasure, and with `offers` the waitlist's too."""
    return InboxProcessor(session_factory, inbox, handlers(clock, offers))


def worker_parts(settings: BookingSettings, clock: Callable[[], datetime] = utcnow) -> WorkerParts:
    session_factory = make_session_factory(make_engine(settings.base.database_url, ping_on_checkout=False))
    offers = WaitlistOffers(settings, session_factory, clock)
    return WorkerParts(settings=settings.base, session_factory=session_factory, outbox=outbox,
                       processor=make_processor(session_factory, clock, offers), heartbeat=heartbeat,
                       periodic=[Periodic(offers.release_expired, interval=EXPIRY_INTERVAL_SECONDS)])


def main() -> None:
    configure_logging("booking")
    run_worker(worker_parts(load_booking_settings()))


if __name__ == "__main__":
    main()
