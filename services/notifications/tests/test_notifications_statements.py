"""The statements the worker sends per booking (clinic_shared.statements), held exactly so that a new read or one
statement per message again fails here (bench/bench_notifications.py measures what they cost)."""
from datetime import timedelta

from clinic_shared.statements import statements_sent

from notifications.dispatcher import Dispatcher

STATEMENTS = {  # (handling one booking.confirmed of a treatment, sending its due invitation)
    # the inbox's INSERT … ON CONFLICT DO NOTHING, the client's erasure lock, erased?, the booking projection's
    # INSERT (the booking's first event: made as projected, no UPDATE), the five messages in one INSERT (its
    # RETURNING NOTIFYs the dispatchers); then the claim (which says nothing else is due, so no claim after it),
    # the check, `sent`
    "postgresql": (5, 3),
    # BEGIN IMMEDIATE instead of the lock; each of the dispatcher's three transactions begins with one
    "sqlite": (5, 6),
}


def test_a_confirmation_and_its_invitation_take_these_statements(system, booking_data):
    with statements_sent(system.engine) as handling:
        system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    assert len(system.messages("b1")) == 5
    # One sender (several: the next test).
    dispatcher = Dispatcher(system.sessions, system.repo, system.outbox, system.settings.with_overrides(
        dispatch_threads=1), system.clock)
    with statements_sent(system.engine) as dispatching:
        assert dispatcher.dispatch_due() == 1
    assert system.by_kind("b1")["pre_treatment"].status == "sent"
    counts = (len(handling), len(dispatching))
    assert counts == STATEMENTS[system.engine.dialect.name], (handling.statements, dispatching.statements)


def test_a_round_with_senders_to_spare_claims_no_more_when_nothing_else_is_due(system, booking_data):
    """The invitation's claim says nothing else is due (its reminders are not), so the round ends with it, instead
    of claiming once more for nothing, or waiting for its send to claim again."""
    system.deliver("booking.confirmed", booking_data(booking_id="b1"))
    assert system.settings.dispatch_threads > 1
    with statements_sent(system.engine) as dispatching:
        assert system.dispatcher.dispatch_due() == 1
    assert len(dispatching) == STATEMENTS[system.engine.dialect.name][1], dispatching.statements


def test_a_round_claims_on_while_something_else_is_due(system, booking_data):
    for booking_id, client_id in (("b1", "c1"), ("b2", "c2"), ("b3", "c3")):
        system.deliver("booking.confirmed", booking_data(booking_id=booking_id, client_id=client_id))
    assert system.dispatcher.dispatch_due() == 3
    assert system.dispatcher.dispatch_due() == 0


def test_a_message_held_back_by_its_siblings_send_goes_out_in_the_same_round(system, clock, booking_data):
    """A confirmation that comes after the session: its invitation and its aftercare are both due, and the
    aftercare waits for the invitation's send, then goes out in the same round."""
    system.deliver("booking.confirmed", booking_data(booking_id="b1", start=clock() - timedelta(hours=3)))
    assert system.settings.dispatch_threads > 1
    assert system.dispatcher.dispatch_due() == 2
    sent = system.by_kind("b1", status="sent")
    assert set(sent) == {"pre_treatment", "aftercare"}
