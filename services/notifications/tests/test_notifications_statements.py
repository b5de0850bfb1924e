"""The statements the worker sends per booking (clinic_shared.statements), held exactly so that a new read or one
statement per message again fails here (bench/bench_notifications.py measures what they cost)."""
from clinic_shared.statements import statements_sent

from notifications.dispatcher import Dispatcher

STATEMENTS = {  # (handling one booking.confirmed of a treatment, sending its due invitation)
    # inbox SELECT and INSERT, the client's erasure lock, erased?, the booking projection's INSERT (the booking's
    # first event: made as projected, no UPDATE), the five messages in one INSERT, pg_notify; then the claim, the
    # check, `sent`, and the claim finding no more
    "postgresql": (7, 4),
    # BEGIN IMMEDIATE instead of the lock and NOTIFY; each of the dispatcher's four transactions begins with one
    "sqlite": (6, 8),
}


def test_a_confirmation_and_its_invitation_take_these_statements(system, booking_data):
    with statements_sent(system.engine) as handling:
        system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    assert len(system.messages("b1")) == 5
    # One sender: with several, a claim made while the invitation is still being sent finds nothing, waits for
    # it and looks once more (a booking's next message may have been held back by it): one more claim.
    dispatcher = Dispatcher(system.sessions, system.repo, system.outbox, system.settings.with_overrides(
        dispatch_threads=1), system.clock)
    with statements_sent(system.engine) as dispatching:
        assert dispatcher.dispatch_due() == 1
    assert system.by_kind("b1")["pre_treatment"].status == "sent"
    counts = (len(handling), len(dispatching))
    assert counts == STATEMENTS[system.engine.dialect.name], (handling.statements, dispatching.statements)
