"""The system benchmark's report-making on synthetic numbers (no system started, nothing timed), so that
`make bench-system` cannot rot unnoticed between runs: percentiles, the figures, RESULTS.md's sections."""
import importlib.util
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load(name: str):
    sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load("report")
bench_system = load("bench_system")


def test_percentiles_are_nearest_rank():
    samples = [float(n) for n in range(100, 0, -1)]  # 100 … 1, unordered on purpose
    assert [report.percentile(samples, q) for q in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert report.percentile([7.0], 99) == 7.0 and report.percentile([], 50) is None
    assert report.latency_row("booking", [0.010, 0.020, 0.030]) == "| booking | 3 | 20.0 | 30.0 | 30.0 |"


def test_process_tree_usage_and_machine_read_from_proc():
    usage = report.tree_usage(os.getpid())
    assert usage.processes >= 1 and usage.peak_rss_kib > 0 and usage.cpu_seconds > 0
    assert "CPUs" in report.machine() and report.load_average().count("/") == 2
    before, spent = report.machine_cpu_seconds(), time.process_time()
    while time.process_time() - spent < 0.3:  # burn some CPU: the machine's busy time must grow by at least that
        pass
    spent, after = time.process_time() - spent, report.machine_cpu_seconds()
    assert after - before >= spent - 0.05  # this process is part of the machine (to a few clock ticks)
    assert set(report.server_roots()) <= set(report.SERVERS)


def test_server_roots_are_the_topmost_process_of_each_server(tmp_path):
    for pid, name, parent in [(1, "init", 0), (100, "postgres", 1), (101, "postgres", 100), (102, "postgres", 100),
                              (200, "beam.smp", 1), (201, "erl_child_setup", 200), (300, "bash", 1)]:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} ({name}) S {parent} {pid} {pid} 0 -1\n")
    (tmp_path / "self").mkdir()
    assert report.server_roots(tmp_path) == {"PostgreSQL": 100, "RabbitMQ": 200}


def test_results_keep_history_and_other_sections_and_replace_the_figures(tmp_path):
    results = tmp_path / "RESULTS.md"
    report.write_results(results, "first figures", "| 2026-11-25 20:00 | abc | 1 × 1 | 10.0 | … |")
    results.write_text(results.read_text() + "\n## Notes\n\nwhere the CPU goes\n")
    report.write_results(results, "second figures", "| 2026-11-25 21:00 | def | 1 × 1 | 20.0 | … |")
    text = results.read_text()
    assert "second figures" in text and "first figures" not in text
    assert text.index("abc") < text.index("def") and text.count("| date (UTC)") == 1
    assert "## Notes\n\nwhere the CPU goes" in text and text.startswith("# Benchmark results")


def test_figures_from_a_synthetic_run():
    class Args:
        users, seconds, env = 4, 10, []  # as main() parses them: no --env given

    run = bench_system.Load("http://unused", {}, ["face"], None)
    run.counts.update({"bookings made": 50, "booking 201": 50, "screening_pending answers": 3})
    run.latency.update({"booking": [0.04] * 50, "idle: availability 31 days": [0.01] * 30})
    run.lag_polled, run.lag_sent_at = [0.2, 0.4], [0.1, 0.3]
    usage = {"before": {"booking": report.TreeUsage(1.0, 0, 3)}, "after": {"booking": report.TreeUsage(2.0, 2048, 3)},
             "machine": 4.0, "servers before": {"PostgreSQL": report.TreeUsage(5.0, 0, 9)},
             "servers after": {"PostgreSQL": report.TreeUsage(5.5, 0, 9)},
             "transactions before": {"booking": (1000, 10)}, "transactions after": {"booking": (1400, 35)}}
    section, row = bench_system.figures(Args, run, 10.0, usage, 50, ("1.00 / 1.00 / 1.00", "2.00 / 2.00 / 2.00"))
    assert "**5.0 bookings/s**" in section and "| booking | 20.0 | 2 | 3 |" in section
    assert "| booking | 50 | 40.0 | 40.0 | 40.0 |" in section and "p99 400.0 ms" in section
    assert "Whole machine: 80.0 ms of CPU per booking" in section
    assert "| PostgreSQL (the server: every database or vhost on it, other work's too) | 10.0 | | |" in section
    assert row.endswith("| 5.0 | 40.0 | 10.0 | 400.0 | 20.0 | 2.00 / 2.00 / 2.00 |")
    assert "| booking | 8.0 | 0.5 |" in section  # (1400 - 1000) / 50 committed, (35 - 10) / 50 rolled back


def test_database_transactions_are_read_from_postgresql(postgres_url_factory):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from clinic_shared.testing import POSTGRES_ADMIN_URL

    url = postgres_url_factory()
    names = {"booking": make_url(url).database, "nowhere": "no_such_database"}
    before = report.database_transactions(POSTGRES_ADMIN_URL, names)
    engine = create_engine(url)
    with engine.connect() as connection:
        for _ in range(5):
            connection.execute(text("SELECT 1"))
            connection.commit()
        for _ in range(2):
            connection.execute(text("SELECT 1"))
            connection.rollback()
        connection.execute(text("SELECT pg_stat_force_next_flush()"))  # this backend's counts, visible now
        connection.commit()
    engine.dispose()
    after = report.database_transactions(POSTGRES_ADMIN_URL, names)
    assert after["nowhere"] == (0, 0)
    commits, rollbacks = (a - b for a, b in zip(after["booking"], before["booking"]))
    assert commits >= 6 and rollbacks >= 2  # ours; the database's own creation may count too
