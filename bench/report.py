"""The numbers of a system benchmark and bench/RESULTS.md: percentiles, per-process CPU and memory from
/proc, the machine, and the file's figures section (overwritten) and history table (appended to).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FIGURES, HISTORY = "## Latest run", "## History"
HISTORY_HEADER = ("| date (UTC) | commit | users × seconds | bookings/s | booking p99 ms "
                  "| 31-day availability p50 ms (idle) | event lag p99 ms | CPU ms per booking | load average |\n"
                  + "|---" * 9 + "|")
HISTORY_KEEP = 30


def percentile(samples: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of the samples; None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100), at least the first
    return ordered[int(min(rank, len(ordered))) - 1]


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def latency_row(name: str, seconds: list[float]) -> str:
    values = [s * 1000 for s in seconds]
    return (f"| {name} | {len(values)} | {ms(percentile(values, 50))} | {ms(percentile(values, 95))} "
            f"| {ms(percentile(values, 99))} |")


# ----- processes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TreeUsage:
    cpu_seconds: float  # user + system of every live process of the tree, plus what its reaped children used
    peak_rss_kib: int  # VmHWM summed over the tree's processes (each one's high-water mark)
    processes: int


def _processes(proc: Path = Path("/proc")) -> dict[int, tuple[str, int]]:
    """pid -> (its name, its parent's pid), for every process alive now."""
    found: dict[int, tuple[str, int]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
            found[int(entry.name)] = (name, int(rest[1]))
    return found


def _children(proc: Path = Path("/proc")) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid, (_, ppid) in _processes(proc).items():
        children.setdefault(ppid, []).append(pid)
    return children


def tree_usage(root: int) -> TreeUsage:
    """CPU and peak memory of a process and all its descendants (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    children, todo, ticks, peak, count = _children(), [root], 0, 0, 0
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
        ticks += utime + stime + cutime + cstime
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        peak += int(found.group(1)) if found else 0
        count += 1
    return TreeUsage(ticks / tick, peak, count)


SERVERS = {"PostgreSQL": "postgres", "RabbitMQ": "beam.smp"}  # name -> the process name of its root


def server_roots(proc: Path = Path("/proc")) -> dict[str, int]:
    """The root process of each server running on this machine (PostgreSQL's postmaster: the `postgres`
    process whose parent is not one), so tree_usage counts its backends, the reaped ones included."""
    found: dict[str, int] = {}
    names = _processes(proc)
    for server, process_name in SERVERS.items():
        roots = [pid for pid, (name, parent) in names.items()
                 if name == process_name and names.get(parent, ("", 0))[0] != process_name]
        if roots:
            found[server] = min(roots)
    return found


def database_transactions(admin_url: str, names: dict[str, str]) -> dict[str, tuple[int, int]]:
    """What pg_stat_database counts for each database so far, by our name for it: (commits, rollbacks).
    PostgreSQL folds a backend's counts in within a second or so, which a run of tens of seconds absorbs."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(admin_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT datname, xact_commit, xact_rollback FROM pg_stat_database "
                                           "WHERE datname IN :names").bindparams(bindparam("names", expanding=True)),
                                      {"names": list(names.values())}).all()
    finally:
        engine.dispose()
    counts = {datname: (commits, rollbacks) for datname, commits, rollbacks in rows}
    return {name: counts.get(database, (0, 0)) for name, database in names.items()}


def py_spy(pid: int, output: Path, rate: int, seconds: int | None = None) -> subprocess.Popen:
    """py-spy on a process and its children (gunicorn's workers) as collapsed stacks, which
    bench/profile_summary.py reads: for `seconds`, or until interrupted (SIGINT makes it write them). Sampling costs
    the sampled processes CPU too: a profiled run's figures are not comparable."""
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--subprocesses",
               "--nonblocking", "--gil", "--rate", str(rate), "--format", "raw", "--output", str(output)]
    if seconds is not None:
        command += ["--duration", str(seconds)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ----- the machine ----------------------------------------------------------------------------

def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    memory = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    gib = f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB memory" if memory else "unknown memory"
    return f"{os.cpu_count()} CPUs ({model.group(1).strip() if model else 'unknown model'}), {gib}"


def machine_cpu_seconds(stat: Path = Path("/proc/stat")) -> float:
    """CPU seconds the whole machine has been busy since boot, all cores (everything but idle and iowait)."""
    fields = [int(f) for f in stat.read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# ----- RESULTS.md -----------------------------------------------------------------------------

INTRO = """# Benchmark results

Written by `make bench-system` (bench/bench_system.py): the whole system on PostgreSQL and RabbitMQ with the
Procfile's process settings, 50,000 seeded bookings, concurrent clients driving screening → availability →
booking through the gateway. The figures section is replaced by each run; the history keeps one line per run.
Sections other than these two (notes, profiles) are kept as they are.
"""


def _sections(text: str) -> tuple[str, dict[str, str], list[str]]:
    """(what comes before the first `## `, section title -> body, the titles in order)."""
    parts = re.split(r"^(## .+)$", text, flags=re.M)
    head, bodies, order = parts[0], {}, []
    for title, body in zip(parts[1::2], parts[2::2]):
        bodies[title.strip()] = body
        order.append(title.strip())
    return head, bodies, order


def write_results(path: Path, figures: str, history_row: str) -> None:
    """Replace the figures section, add `history_row` to the history table (newest last, the last
    HISTORY_KEEP kept), and keep every other section."""
    head, bodies, order = _sections(path.read_text() if path.exists() else "")
    rows = [line for line in bodies.get(HISTORY, "").splitlines()
            if line.startswith("| ") and not line.startswith("| date") and not line.startswith("|---")]
    rows = (rows + [history_row])[-HISTORY_KEEP:]
    bodies[FIGURES] = "\n\n" + figures.strip() + "\n\n"
    bodies[HISTORY] = "\n\n" + HISTORY_HEADER + "\n" + "\n".join(rows) + "\n\n"
    for title in (FIGURES, HISTORY):
        if title not in order:
            order.append(title)
    order = [FIGURES, HISTORY] + [t for t in order if t not in (FIGURES, HISTORY)]
    text = (head.strip() or INTRO.strip()) + "\n\n" + "".join(f"{t}{bodies[t]}" for t in order)
    path.write_text(text.rstrip() + "\n")
