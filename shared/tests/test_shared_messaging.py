"""Outbox relay and idempotent consumer against real brokers: kombu's file transport and RabbitMQ."""
import threading
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select
from sqlalchemy.engine import make_url

from clinic_shared.broker import Publisher, connect
from clinic_shared.db import make_engine, make_session_factory
from clinic_shared.events import make_envelope
from clinic_shared.inbox import ATTEMPTS_HEADER, EventConsumer, InboxProcessor, inbox_table
from clinic_shared.outbox import OutboxRelay, add_event, outbox_table
from clinic_shared.settings import load_settings
from clinic_shared.tcp_proxy import TcpProxy
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE, drain_queue as drain, free_port
from clinic_shared.topology import Topology

SCREENING = SCREENING_COMPLETED_SAMPLE


@pytest.fixture
def store(settings):
    metadata = MetaData()
    tables = {"outbox": outbox_table(metadata), "inbox": inbox_table(metadata)}
    engine = make_engine(settings.database_url)
    metadata.create_all(engine)
    yield make_session_factory(engine), tables
    engine.dispose()


def write_event(sessions, outbox, data=SCREENING):
    with sessions() as session, session.begin():
        return add_event(session, outbox, "screening.completed", data, "screening", "req-1")


class Consuming:
    """Runs an EventConsumer in a thread for the duration of a `with` block."""

    def __init__(self, settings, processor, **options):
        self.consumer = EventConsumer(connect(settings), Topology(settings.topology_prefix), "booking",
                                      processor, retry_delay=0.01, **options)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.consumer.should_stop = True
        self.thread.join(10)


def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_outbox_event_reaches_the_consumer_once(settings, store):
    sessions, tables = store
    envelope = write_event(sessions, tables["outbox"])
    relay = OutboxRelay(sessions, tables["outbox"], Publisher(connect(settings), Topology(settings.topology_prefix)))
    assert relay.pending() == 1
    assert relay.relay_once() == 1 and relay.pending() == 0
    assert relay.relay_once() == 0  # a published row is not published again

    seen = []
    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": lambda s, d, e: seen.append((d, e))})
    with Consuming(settings, processor):
        assert wait_for(lambda: seen)
    data, received = seen[0]
    assert received["event_id"] == envelope["event_id"] and received["correlation_id"] == "req-1"
    assert data["client"]["email"] == "ada@example.org"


def test_redelivered_event_has_its_effect_once(settings, store):
    sessions, tables = store
    envelope = make_envelope("screening.completed", SCREENING, "screening")
    publisher = Publisher(connect(settings), Topology(settings.topology_prefix))
    publisher.publish(envelope)
    publisher.publish(envelope)  # the broker redelivers, or a relay crashed before marking
    effects = []
    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": lambda s, d, e: effects.append(1)})
    with Consuming(settings, processor):
        assert wait_for(lambda: effects)
        time.sleep(1.0)  # time for the duplicate to arrive and be skipped
    assert effects == [1]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(tables["inbox"])) == 1


def test_failing_handler_is_retried_then_dead_lettered(settings, store):
    sessions, tables = store
    attempts = []

    def always_fails(session, data, envelope):
        attempts.append(1)
        raise RuntimeError("database on fire")

    Publisher(connect(settings), Topology(settings.topology_prefix)).publish(
        make_envelope("screening.completed", SCREENING, "screening"))
    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": always_fails})
    with Consuming(settings, processor, max_attempts=3):
        assert wait_for(lambda: len(attempts) >= 3)
        time.sleep(0.5)
    assert len(attempts) == 3  # bounded: never requeued forever
    dead = drain(settings, Topology(settings.topology_prefix).dead_letter_queue("booking"))
    assert len(dead) == 1
    payload, headers = dead[0]
    assert payload["data"]["screening_id"] == "s1"
    assert headers[ATTEMPTS_HEADER] == 2 and headers["x-clinic-dead-letter-reason"] == "failed 3 times: RuntimeError"
    with sessions() as session:  # the failed effect left no trace in the inbox
        assert session.scalar(select(func.count()).select_from(tables["inbox"])) == 0


def test_a_handler_that_recovers_is_applied_once(settings, store):
    sessions, tables = store
    calls = []

    def flaky(session, data, envelope):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("transient")

    Publisher(connect(settings), Topology(settings.topology_prefix)).publish(
        make_envelope("screening.completed", SCREENING, "screening"))
    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": flaky})
    with Consuming(settings, processor):
        assert wait_for(lambda: len(calls) == 2)
        time.sleep(0.3)
    assert len(calls) == 2
    assert drain(settings, Topology(settings.topology_prefix).dead_letter_queue("booking"), seconds=1) == []


def test_malformed_event_goes_to_dead_letter_queue(settings, store):
    sessions, tables = store
    topology = Topology(settings.topology_prefix)
    publisher = Publisher(connect(settings), topology)
    publisher.publish({"type": "screening.completed", "data": {}}, routing_key="screening.completed")
    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": lambda s, d, e: None})
    with Consuming(settings, processor):
        dead = []
        assert wait_for(lambda: dead.extend(drain(settings, topology.dead_letter_queue("booking"), 1)) or dead)
    assert dead[0][0] == {"type": "screening.completed", "data": {}}
    assert dead[0][1]["x-clinic-dead-letter-reason"].startswith("malformed")


@pytest.fixture
def database_behind_proxy(postgres_url_factory):
    """A fresh PostgreSQL database: (its URL, the URL of a TcpProxy in front of it, the proxy)."""
    url = make_url(postgres_url_factory())
    proxy = TcpProxy(url.host, url.port or 5432, free_port()).start()
    yield (url.render_as_string(hide_password=False),
           url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy)
    proxy.cut()


@pytest.mark.parametrize("ping_on_checkout", [True, False])  # a web process's engine, and a worker's
def test_a_database_outage_is_waited_out_without_dead_lettering(settings, database_behind_proxy, ping_on_checkout):
    direct_url, proxied_url, proxy = database_behind_proxy
    metadata = MetaData()
    inbox = inbox_table(metadata)
    effects = Table("effects", metadata, Column("event_id", String(36), nullable=False))  # no key: a twice is seen
    direct = make_engine(direct_url)
    metadata.create_all(direct)

    def effect(session, data, envelope):
        session.execute(effects.insert().values(event_id=envelope["event_id"]))
        time.sleep(0.1)  # slow enough that the outage falls in the middle of the stream

    def handled():
        with direct.connect() as connection:
            return connection.execute(select(effects.c.event_id)).scalars().all()

    topology = Topology(settings.topology_prefix)
    publisher = Publisher(connect(settings), topology)
    sent = [make_envelope("screening.completed", SCREENING, "screening") for _ in range(12)]
    for envelope in sent:
        publisher.publish(envelope)
    engine = make_engine(proxied_url, ping_on_checkout=ping_on_checkout)
    processor = InboxProcessor(make_session_factory(engine), inbox, {"screening.completed": effect})
    try:
        with Consuming(settings, processor):
            assert wait_for(lambda: len(handled()) >= 3)
            proxy.cut()  # the database goes away for a few seconds, in the middle of the stream
            time.sleep(5)
            proxy.restore()
            assert wait_for(lambda: len(handled()) >= len(sent), seconds=60)
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert sorted(handled()) == sorted(e["event_id"] for e in sent)  # every event once, none twice
    assert drain(settings, topology.dead_letter_queue("booking"), seconds=1) == []
    direct.dispose()


def test_a_consumer_waiting_out_an_outage_stops_when_asked_and_the_event_comes_again(settings, database_behind_proxy):
    direct_url, proxied_url, proxy = database_behind_proxy
    metadata = MetaData()
    inbox = inbox_table(metadata)
    direct = make_engine(direct_url)
    metadata.create_all(direct)
    engine = make_engine(proxied_url)
    effects = []
    processor = InboxProcessor(make_session_factory(engine), inbox,
                               {"screening.completed": lambda s, d, e: effects.append(e["event_id"])})
    topology = Topology(settings.topology_prefix)
    envelope = make_envelope("screening.completed", SCREENING, "screening")
    proxy.cut()  # the database is down before the event arrives, and stays down
    Publisher(connect(settings), topology).publish(envelope)
    try:
        with Consuming(settings, processor, outage_pause=60.0) as consuming:
            time.sleep(2)  # it tried, failed, and is now in a pause longer than Consuming's join allows
        assert not consuming.thread.is_alive()  # the pause was cut short by the stop
        assert effects == []
        proxy.restore()
        with Consuming(settings, processor):  # another worker, later: the unacked event is delivered again
            assert wait_for(lambda: effects)
    finally:
        engine.dispose()
        direct.dispose()
    assert effects == [envelope["event_id"]]
    assert drain(settings, topology.dead_letter_queue("booking"), seconds=1) == []


@pytest.fixture
def rabbit_settings(tmp_path, topology_prefix, amqp_url):
    return load_settings("booking", {"CLINIC_DATA_DIR": str(tmp_path), "CLINIC_TOPOLOGY_PREFIX": topology_prefix,
                                     "CLINIC_BROKER_URL": amqp_url})


def test_rows_a_relay_had_no_time_to_publish_stay_for_the_next_batch(settings, store):
    sessions, tables = store
    written = [write_event(sessions, tables["outbox"])["event_id"] for _ in range(3)]
    publisher = Publisher(connect(settings), Topology(settings.topology_prefix))
    assert OutboxRelay(sessions, tables["outbox"], publisher, max_batch_seconds=0).relay_once() == 0
    relay = OutboxRelay(sessions, tables["outbox"], publisher)
    assert relay.pending() == 3  # claimed, then given back unpublished
    assert relay.relay_once() == 3 and relay.pending() == 0
    received = drain(settings, Topology(settings.topology_prefix).queue("booking"))
    assert [payload["event_id"] for payload, _ in received] == written  # once each, in order


def test_relay_keeps_events_while_the_broker_is_unreachable(rabbit_settings):
    settings = rabbit_settings
    engine = make_engine(settings.database_url)
    metadata = MetaData()
    tables = {"outbox": outbox_table(metadata)}
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    write_event(sessions, tables["outbox"])
    down = settings.with_overrides(broker_url="amqp://guest:guest@127.0.0.1:1//")
    relay = OutboxRelay(sessions, tables["outbox"], Publisher(connect(down), Topology(settings.topology_prefix)))
    with pytest.raises(Exception):
        relay.relay_once()
    assert relay.pending() == 1  # nothing lost, nothing marked
    relay = OutboxRelay(sessions, tables["outbox"], Publisher(connect(settings), Topology(settings.topology_prefix)))
    assert relay.relay_once() == 1
    published = drain(settings, Topology(settings.topology_prefix).queue("booking"))
    assert [p["type"] for p, _ in published] == ["screening.completed"]


@pytest.fixture
def broker_behind_proxy(rabbit_settings, amqp_url):
    """Settings whose broker URL goes through a TcpProxy in front of RabbitMQ, and the proxy."""
    upstream = urlsplit(amqp_url)
    proxy = TcpProxy(upstream.hostname, upstream.port or 5672, free_port()).start()
    yield rabbit_settings.with_overrides(broker_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}//"), proxy
    proxy.cut()


def in_thread(call, seconds=60):
    """Run `call` in a thread; return what it raised (None if nothing), failing the test if it is still running."""
    outcome = []

    def run():
        try:
            call()
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return outcome[0]


def test_a_publish_to_a_broker_that_stops_answering_fails_instead_of_hanging(broker_behind_proxy):
    settings, proxy = broker_behind_proxy
    publisher = Publisher(connect(settings), Topology(settings.topology_prefix), timeout=1.0, give_up_after=3.0)
    publisher.publish(make_envelope("screening.completed", SCREENING, "screening"))  # confirmed: the path works
    proxy.stall()  # connections stay open, nothing comes back: no confirm, no handshake for a reconnect
    assert in_thread(lambda: publisher.publish(make_envelope("screening.completed", SCREENING, "screening")))
    assert in_thread(lambda: publisher.publish(make_envelope("screening.completed", SCREENING, "screening")))


def test_the_relay_keeps_what_it_published_and_gives_back_the_rest_when_the_broker_stalls(broker_behind_proxy):
    settings, proxy = broker_behind_proxy
    engine = make_engine(settings.database_url)
    metadata = MetaData()
    outbox = outbox_table(metadata)
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    relay = OutboxRelay(sessions, outbox, Publisher(connect(settings), Topology(settings.topology_prefix),
                                                    timeout=1.0, give_up_after=3.0))
    write_event(sessions, outbox)
    assert relay.relay_once() == 1
    write_event(sessions, outbox)
    write_event(sessions, outbox)
    proxy.stall()
    assert in_thread(relay.relay_once) is not None  # an error, in bounded time, and the transaction is over
    assert relay.pending() == 2  # nothing marked that the broker did not confirm
    engine.dispose()


def test_two_relays_at_once_publish_every_row_exactly_once(rabbit_settings, postgres_url_factory):
    settings = rabbit_settings.with_overrides(database_url=postgres_url_factory())
    metadata = MetaData()
    outbox = outbox_table(metadata)
    setup = make_engine(settings.database_url)
    metadata.create_all(setup)
    written = [write_event(make_session_factory(setup), outbox)["event_id"] for _ in range(300)]
    topology = Topology(settings.topology_prefix)
    topology.declare(connect(settings))
    start = threading.Barrier(2)
    counts = {}

    def relay_until_empty(name):
        engine = make_engine(settings.database_url)  # each relay its own engine and broker connection
        relay = OutboxRelay(make_session_factory(engine), outbox, Publisher(connect(settings), topology),
                            batch_size=5)
        start.wait()
        counts[name] = 0
        while relay.pending():
            counts[name] += relay.relay_once()
        engine.dispose()

    relays = [threading.Thread(target=relay_until_empty, args=(name,)) for name in ("a", "b")]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join(120)
    setup.dispose()
    assert counts["a"] + counts["b"] == len(written) and counts["a"] > 0 and counts["b"] > 0  # both really worked
    received = [payload["event_id"] for payload, _ in drain(settings, topology.queue("booking"), seconds=10)]
    assert sorted(received) == sorted(written)  # every row once, none twice


def test_bad_event_data_never_enters_the_outbox(store):
    sessions, tables = store
    with pytest.raises(Exception):
        write_event(sessions, tables["outbox"], data={**SCREENING, "outcome": "maybe"})
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(tables["outbox"])) == 0


def effects_table(metadata):
    return Table("effects", metadata, Column("event_id", String(36), nullable=False))  # no key: a twice is seen


def test_events_that_arrive_together_are_handled_in_one_transaction_each_with_its_inbox_row(settings, store):
    sessions, tables = store
    topology = Topology(settings.topology_prefix)
    publisher = Publisher(connect(settings), topology)
    sent = [make_envelope("screening.completed", SCREENING, "screening") for _ in range(8)]
    for envelope in sent:
        publisher.publish(envelope)  # queued before the consumer starts: they come together
    transactions = {}

    def effect(session, data, envelope):
        transactions[envelope["event_id"]] = session.get_transaction()

    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": effect})
    with Consuming(settings, processor, batch_wait=0.5):
        assert wait_for(lambda: len(transactions) == len(sent))
    assert len({id(t) for t in transactions.values()}) < len(sent)  # some shared one transaction
    with sessions() as session:
        assert sorted(session.scalars(select(tables["inbox"].c.event_id))) == sorted(e["event_id"] for e in sent)
    assert drain(settings, topology.queue("booking"), seconds=1) == []  # every message acked
    assert drain(settings, topology.dead_letter_queue("booking"), seconds=1) == []


def test_a_poison_event_in_a_batch_is_dead_lettered_alone_and_the_rest_handled_once(settings, store):
    sessions, tables = store
    effects = effects_table(MetaData())
    effects.create(sessions.kw["bind"])
    topology = Topology(settings.topology_prefix)
    publisher = Publisher(connect(settings), topology)
    sent = [make_envelope("screening.completed", {**SCREENING, "screening_id": f"s{n}"}, "screening")
            for n in range(6)]
    for envelope in sent:
        publisher.publish(envelope)

    def effect(session, data, envelope):
        session.execute(effects.insert().values(event_id=envelope["event_id"]))
        if data["screening_id"] == "s3":
            raise RuntimeError("poison")

    processor = InboxProcessor(sessions, tables["inbox"], {"screening.completed": effect})
    dead = []
    with Consuming(settings, processor, max_attempts=2, batch_wait=0.5):
        assert wait_for(lambda: dead.extend(drain(settings, topology.dead_letter_queue("booking"), 1)) or dead)
    good = sorted(e["event_id"] for e in sent if e["data"]["screening_id"] != "s3")
    with sessions() as session:
        assert sorted(session.scalars(select(effects.c.event_id))) == good  # each once; the poison's rolled back
        assert sorted(session.scalars(select(tables["inbox"].c.event_id))) == good
    assert [payload["data"]["screening_id"] for payload, _ in dead] == ["s3"]
    assert dead[0][1]["x-clinic-dead-letter-reason"] == "failed 2 times: RuntimeError"  # its kind, no message
    assert drain(settings, topology.queue("booking"), seconds=1) == []  # nothing left unacked or requeued
