"""A client's data (API.md "A client's data"): this service's part of their export and of their erasure.

Erasure (on `client.erasure_requested`, inside the inbox transaction): the client's future bookings are
cancelled **without an event**, so no cancellation e-mail goes out (the slot is free again at once); their
waitlist entries are deleted (no clinic record), and the time the bookings and any offer held for them leave
free is offered at once to the next waiting entries (`WaitlistOffers.offer_freed_time`, as a cancellation
would through the service's own event, which an erasure does not publish); every
booking and course of theirs is kept for the clinic's records under the client id `erased`, without the
cancellation reasons they may have written; their contact (the screening projection), idempotency keys and
every event about them still in the outbox are deleted; the id joins the erased clients, whose tokens no
longer work here and whose late screening events are dropped. Then `client.erased` reports it done. An event
that comes again finds nothing left to do and reports again.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from clinic_shared.erasure import ERASED_CLIENT_ID, forget_client_events, guard_client, mark_erased
from clinic_shared.outbox import add_event

from .store import repository, waitlist_repository
from .store.tables import erased_clients, outbox
from .waitlist_offers import WaitlistOffers

PRODUCER = "booking"


def export_client(session: Session, client_id: str) -> tuple[list, list, list]:
    """(bookings, courses, waitlist entries) of the client, as rows."""
    return (repository.list_bookings(session, client_id), repository.courses_of_client(session, client_id),
            waitlist_repository.entries_of_client(session, client_id))


def erase_client(session: Session, client_id: str, *, now: datetime, correlation_id: str | None = None,
                 offers: WaitlistOffers | None = None) -> None:
    """`offers` (the worker's) passes the freed time on to the waitlist; without it the time is only free."""
    guard_client(session, client_id)
    repository.lock_client(session, client_id)  # a booking of theirs being made commits before, or finds nothing
    freed = repository.future_starts(session, client_id, now)
    repository.cancel_future_bookings(session, client_id, now)
    repository.anonymise_bookings(session, client_id, ERASED_CLIENT_ID)
    repository.forget_client(session, client_id)
    held_on = waitlist_repository.remove_of_client(session, client_id)
    forget_client_events(session, outbox, client_id)
    if offers is not None:
        # The client's lock, then each day's (as a booking takes them): the next entries get the time now.
        for day in sorted({offers.local_day(start) for start in freed} | set(held_on)):
            offers.offer_freed_time(session, day, correlation_id)
    mark_erased(session, erased_clients, client_id, now)
    add_event(session, outbox, "client.erased",
              {"client_id": client_id, "service": PRODUCER, "erased_at": now.isoformat()},
              producer=PRODUCER, correlation_id=correlation_id)
