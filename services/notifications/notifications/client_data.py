"""A client's data (API.md "A client's data"): this service's part of their export and of their erasure.

Erasure (on `client.erasure_requested`, inside the inbox transaction): every message of the client not yet
sent (scheduled, being sent, or failed and so retryable) is cancelled, and every message of theirs keeps only
what it was (kind, subject, times, status) without address, name, body or invitation; the messages and the
booking projection name the client `erased`; the id joins the erased clients, whose tokens no longer work here
and whose later events are dropped (`EventHandlers`), so no message is ever made for them again. Then
`client.erased` reports it done. An event that comes again finds nothing left to do and reports again.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from clinic_shared.erasure import ERASED_CLIENT_ID, guard_client, is_erased, mark_erased
from clinic_shared.outbox import add_event

from .domain.kinds import CANCELLED, FAILED, SCHEDULED, SENDING
from .store.tables import Tables

PRODUCER = "notifications"
NOT_YET_SENT = (SCHEDULED, SENDING, FAILED)


def erase_client(session: Session, tables: Tables, client_id: str, *, now: datetime,
                 correlation_id: str | None = None) -> None:
    guard_client(session, client_id)
    n = tables.notifications
    # A message a dispatcher holds right now may still go out once; its `sent` is then not recorded
    # (the dispatcher finishes only a row still `sending`), and nothing after it is.
    session.execute(update(n).where(n.c.client_id == client_id, n.c.status.in_(NOT_YET_SENT))
                    .values(status=CANCELLED, lease_expires_at=None, updated_at=now))
    session.execute(update(n).where(n.c.client_id == client_id).values(
        client_id=ERASED_CLIENT_ID, to_address="", to_name="", body_text="", calendar=None,
        last_error="the client was erased", updated_at=now))
    session.execute(update(tables.bookings).where(tables.bookings.c.client_id == client_id)
                    .values(client_id=ERASED_CLIENT_ID, updated_at=now))
    mark_erased(session, tables.erased_clients, client_id, now)
    add_event(session, tables.outbox, "client.erased",
              {"client_id": client_id, "service": PRODUCER, "erased_at": now.isoformat()},
              producer=PRODUCER, correlation_id=correlation_id)


def client_erased(session: Session, tables: Tables, client_id: str) -> bool:
    """Under the client's erasure lock: an erasure running now comes after this event's messages (and
    cancels them) or before (and this says so)."""
    guard_client(session, client_id)
    return is_erased(session, tables.erased_clients, client_id)
