"""Operations can see what the dead-letter queue holds and put it back, on both brokers."""
from clinic_shared.broker import Publisher, connect
from clinic_shared.dead_letters import main, peek, replay
from clinic_shared.events import make_envelope
from clinic_shared.testing import SCREENING_COMPLETED_SAMPLE as SCREENING, drain_queue as drain
from clinic_shared.topology import Topology




def test_list_shows_and_keeps_every_message_then_replay_moves_them_back(settings):
    topology = Topology(settings.topology_prefix)
    envelopes = [make_envelope("screening.completed", SCREENING, "screening", f"req-{n}") for n in range(3)]
    with connect(settings) as connection:
        topology.declare(connection)
        publisher = Publisher(connection, topology)
        for envelope in envelopes:
            publisher.publish(envelope, routing_key=topology.dead_letter_queue_name("booking"), exchange="")

        listed = peek(connection, topology, "booking")
        assert sorted(m["event_id"] for m in listed) == sorted(e["event_id"] for e in envelopes)
        assert {m["type"] for m in listed} == {"screening.completed"}
        assert len(peek(connection, topology, "booking")) == 3  # listing took nothing away

        assert replay(connection, topology, "booking") == 3
        assert peek(connection, topology, "booking") == []
    back = drain(settings, topology.queue("booking"))
    assert sorted(p["event_id"] for p, _ in back) == sorted(e["event_id"] for e in envelopes)


def test_command_line(settings, monkeypatch, capsys):
    topology = Topology(settings.topology_prefix)
    envelope = make_envelope("screening.completed", SCREENING, "screening")
    with connect(settings) as connection:
        topology.declare(connection)
        Publisher(connection, topology).publish(envelope, routing_key=topology.dead_letter_queue_name("booking"),
                                                exchange="")
    monkeypatch.setenv("CLINIC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CLINIC_TOPOLOGY_PREFIX", settings.topology_prefix)
    monkeypatch.setenv("CLINIC_BROKER_URL", settings.broker_url)
    assert main(["list", "booking"]) == 0
    assert envelope["event_id"] in capsys.readouterr().out
    assert main(["replay", "booking"]) == 0
    assert "replayed 1 message(s)" in capsys.readouterr().out
