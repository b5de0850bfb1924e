"""The dispatcher: a periodic job that sends due messages, each exactly once as far as SMTP allows.

It claims one message at a time (status `sending`, attempts + 1, a lease) in a committed transaction
(one UPDATE … RETURNING), hands it at once to one of `dispatch_threads` senders, then records the outcome.
A message is claimed only when a sender is free, so none waits under its lease; several are with the mail
server at once, since a send mostly waits on its replies (one at a time fell seconds behind a busy day).
Two dispatchers never take one row (on PostgreSQL
`FOR UPDATE SKIP LOCKED`; on SQLite the write lock of BEGIN IMMEDIATE), and a claim only ever covers
the message being sent, whose SMTP session is bounded well inside the lease: no message waits its turn
under a lease that could run out and let another dispatcher send it too. A row whose dispatcher died
while sending is claimed again after its lease.

The one resend left is SMTP's own: a crash (or a lost reply) after the mail server accepted the message
and before `sent` is committed. That window is one UPDATE and its COMMIT: `sent` is recorded the moment
the server has accepted the message (before the SMTP session is closed), on a connection taken and checked
before sending (the one the message was claimed on, handed to its sender); if the database is briefly away
then, it is retried in place. The `Message-ID` is the same, so such a resend is recognisable.

A mail server that is down, slow or answering 4xx is retried with a growing backoff until
`delivery_give_up` after the message was due; a 5xx refusal of the message fails it at once.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from clinic_shared.db import transaction
from clinic_shared.failures import GrowingPause, is_transient
from clinic_shared.logs import describe_failure

from .delivery import PermanentDeliveryError, build_email
from .domain.kinds import CANCELLATION, CANCELLED, FAILED, NEXT_SESSION_REMINDER, SCHEDULED, SENT
from .domain.schedule import retry_delay
from .settings import NotificationSettings
from .store.repository import Repository

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, session_factory: sessionmaker[Session], repository: Repository, transport,
                 settings: NotificationSettings, clock: Callable[[], datetime]):
        self._sessions = session_factory
        self._engine = session_factory.kw["bind"]
        self._repo = repository
        self._transport = transport
        self._settings = settings
        self._clock = clock
        self._senders = ThreadPoolExecutor(max_workers=settings.dispatch_threads, thread_name_prefix="sender")
        self._free_senders = threading.BoundedSemaphore(settings.dispatch_threads)

    def dispatch_due(self) -> int:
        """Claim due messages one by one (at most a batch), each as soon as a sender is free, and wait until
        all are sent; return how many were claimed. A failed send is recorded by its sender; anything that
        escaped one is raised here, after the others are done."""
        claimed: list[Future] = []
        holding_back: set[Future] = set()  # the sends whose booking has another message claimable but for them
        try:
            while len(claimed) < self._settings.dispatch_batch_size:
                row, connection = self._claim_for_a_free_sender(claimed, holding_back)
                if row is None:
                    break
                try:
                    sending = self._senders.submit(self._deliver, row, connection)
                except BaseException:  # no sender took it: its connection and its sender are free again
                    connection.close()
                    self._free_senders.release()
                    raise
                # Freed once the future is done, so a claimer that got the sender sees that send as finished.
                sending.add_done_callback(lambda _: self._free_senders.release())
                claimed.append(sending)
                if row.holds_back:
                    holding_back.add(sending)
                if not row.more_due:
                    break  # nothing else was due: a message due from now on is the next round's
        finally:
            for future in claimed:
                future.exception()  # wait for every send, whatever happened to the claims
        for future in claimed:
            future.result()
        return len(claimed)

    def _claim_for_a_free_sender(self, claimed: list[Future], holding_back: set[Future]):
        """Wait for a free sender, then claim a message for it (the sender stays taken): the row and the connection
        it was claimed on, which the sender goes on with; (None, None) when nothing more is due this round."""
        while True:
            self._free_senders.acquire()
            # Looked at before the claim: a send that ends during it may have held back what it did not find.
            in_flight = [future for future in holding_back if not future.done()]
            connection = None
            try:
                connection = self._engine.connect()  # a checkout that meets no database is a failed claim too
                row = self._claim_on(connection)
            except BaseException as exc:
                if connection is not None:
                    connection.close()
                self._free_senders.release()
                if claimed and is_transient(exc):
                    # The database is away for a moment: finish what is being sent (its senders wait the
                    # blip out to record it) and claim more on the next round.
                    log.warning("claiming stopped for this round, the database is away: %s", exc)
                    return None, None
                raise
            if row is not None:
                return row, connection
            connection.close()
            self._free_senders.release()
            if not in_flight:
                return None, None
            # A booking's next message becomes claimable once its sibling in flight is sent. (Only then: a
            # message that becomes due meanwhile is the next round's, which its NOTIFY, or the poll, starts:
            # `every` runs the job again at once for a NOTIFY that came while it ran.)
            wait(in_flight, return_when=FIRST_COMPLETED)
            holding_back.difference_update(future for future in in_flight if future.done())

    def claim(self):
        """Claim the next due message for this dispatcher, or None when nothing is due."""
        with self._engine.connect() as connection:
            return self._claim_on(connection)

    def _claim_on(self, connection):
        now = self._clock()
        with connection.begin():
            return connection.execute(self._repo.claim_statement(connection), {
                "claim_now": now, "claim_lease_expires_at": now + self._settings.sending_lease}).first()

    def _deliver(self, row, connection) -> None:
        # One connection per message, the one it was claimed on: the check reads on it, and `sent` is recorded on
        # it the moment the server has the message, not after a checkout (and a ping) in that window.
        with connection:
            try:
                withdrawn = self._no_longer_wanted(connection, row)
            finally:
                connection.rollback()  # the read ends here (as a session's would), so `sent` begins its own
            if withdrawn:
                self._finish(row, status=CANCELLED, last_error=withdrawn)
                return
            if row.lease_expires_at - self._clock() <= timedelta(seconds=2 * self._settings.smtp_timeout_seconds):
                # What remains of the claim could not cover a whole SMTP session (the database was slow to
                # answer): sending now could outlast the lease, and another dispatcher could then send the
                # booking's next message first. Give it back, due now.
                self._finish(row, status=SCHEDULED, not_before=self._clock(), last_error=None)
                return
            if self._send(connection, row):
                log.info("sent %s %s", row.kind, row.id)  # the id, never the address: logs hold no personal data

    def _send(self, connection, row) -> bool:
        """Send, recording `sent` on `connection` as soon as the mail server has accepted the message; False if
        it failed."""
        accepted: list[bool] = []  # [whether `sent` was recorded then], once the server has the message

        def record_sent() -> None:
            accepted.append(self._record(connection, row, status=SENT, sent_at=self._clock(), last_error=None))

        try:
            self._transport.send(build_email(row, self._settings, self._clock()), row.id, accepted=record_sent)
        except Exception as exc:
            if not accepted:
                self._failed(row, exc)
                return False
            # Closing the session failed after the server had the message: it is sent all the same.
        if accepted != [True]:  # a transport that does not say, or the database away at that moment
            self._finish(row, status=SENT, sent_at=self._clock(), last_error=None)
        return True

    def _record(self, connection, row, **values) -> bool:
        """Record the outcome of our claim on `connection`, once; False if the database did not take it."""
        try:
            with connection.begin():
                self._repo.finish_claim(connection, row, lease_expires_at=None, updated_at=self._clock(), **values)
            return True
        except Exception as exc:  # never raised into the transport: the message is out, whatever this was
            log.warning("recording %s of %s failed, trying again: %s", values["status"], row.id, exc)
            return False

    def _no_longer_wanted(self, connection, row) -> str | None:
        """Why a claimed message must not go out after all, or None.

        A booking cancelled since the message was planned gets nothing but its cancellation: this catches a
        message taken again after a dead dispatcher's lease ran out, once the cancellation had come in."""
        # The address as it is now, not as claimed: an erasure that came meanwhile removed it.
        current = self._repo.message_now(connection, row.id)
        if current is None or not current.to_address:
            return "the client was erased"
        if current.booking_status is None:  # no booking, or none projected
            return None
        if current.booking_status == "cancelled" and row.kind != CANCELLATION:
            return "the booking was cancelled"
        if row.kind == NEXT_SESSION_REMINDER and self._repo.has_later_treatment(
                connection, current.booking_client_id, row.booking_id, current.booking_start):
            return "the client already has a later treatment booked"
        return None

    def _failed(self, row, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]  # kept with the message, which holds the address anyway
        failure = describe_failure(exc)  # for the log: a mail server's reply can quote the recipient's address
        now = self._clock()
        if isinstance(exc, PermanentDeliveryError):
            log.error("%s %s refused for good: %s", row.kind, row.id, failure)
            self._finish(row, status=FAILED, last_error=error)
            return
        if now >= row.send_at + self._settings.delivery_give_up:
            log.error("giving up on %s %s, due %s, after %d attempts: %s", row.kind, row.id, row.send_at,
                      row.attempts, failure)
            self._finish(row, status=FAILED, last_error=error)
            return
        delay = retry_delay(row.attempts, self._settings.retry_backoff, self._settings.retry_backoff_max)
        log.warning("sending %s %s failed (attempt %d), retrying in %s: %s", row.kind, row.id, row.attempts,
                    delay, failure)
        self._finish(row, status=SCHEDULED, not_before=now + delay, last_error=error)

    def _finish(self, row, **values) -> None:
        """Record the outcome of our own claim only: if its lease ran out and another dispatcher took the
        row, that one finishes it. A database that is briefly away is waited out here, within the lease,
        so that a message already handed to the mail server is not sent again because of it."""
        give_up_at = time.monotonic() + self._settings.sending_lease.total_seconds()
        pause = GrowingPause(first=0.2, longest=5.0)
        while True:
            try:
                with transaction(self._sessions) as session:
                    self._repo.finish_claim(session, row, lease_expires_at=None, updated_at=self._clock(), **values)
                return
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() >= give_up_at:
                    raise
                log.warning("recording %s of %s waits for the database: %s", values.get("status"), row.id, exc)
                pause.wait()
