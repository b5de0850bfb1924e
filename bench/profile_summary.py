"""Summarise py-spy's collapsed stacks (`py-spy record --format raw`): where a process spends its CPU.

    python bench/profile_summary.py PROFILE.txt [--top 25]

py-spy samples only threads that are on the CPU holding the GIL (bench_system passes --gil: a thread waiting
for PostgreSQL or a socket is not counted), so a share of samples is about a share of Python CPU time.
Prints the packages the CPU was spent in (the innermost frame's file: our services, sqlalchemy, psycopg, …)
and the functions with the most CPU below them (inclusive), so a profile can be read without a flame graph.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def package_of(file: str) -> str:
    """The top-level package a frame's file belongs to ('site-packages/sqlalchemy/…' → 'sqlalchemy')."""
    parts = Path(file).parts
    for marker in ("site-packages", "services", "shared"):
        if marker in parts[:-1]:
            rest = parts[parts.index(marker) + 1:]
            if marker == "services" and len(rest) > 2:  # services/booking/booking/api.py → booking
                return rest[1]
            return rest[0].removesuffix(".py") if rest else file
    if "python3" in file or "lib/python" in file:
        return "stdlib: " + Path(file).stem
    return Path(file).stem or file


def summarise(lines: list[str]) -> tuple[int, Counter, Counter]:
    """(samples, self samples per package, inclusive samples per function)."""
    total, by_package, inclusive = 0, Counter(), Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += samples
        by_package[package_of(frames[-1]["file"])] += samples
        for name in {f"{f['function']} ({package_of(f['file'])})" for f in frames}:
            inclusive[name] += samples
    return total, by_package, inclusive


def report(path: Path, top: int = 25) -> str:
    total, by_package, inclusive = summarise(path.read_text().splitlines())
    if not total:
        return f"{path.name}: no samples"
    rows = [f"### {path.stem} ({total} samples)", "", "| package (self) | share |", "|---|---|"]
    rows += [f"| {name} | {n * 100 / total:.1f}% |" for name, n in by_package.most_common(top // 2)]
    rows += ["", "| function (inclusive) | share |", "|---|---|"]
    rows += [f"| {name} | {n * 100 / total:.1f}% |" for name, n in inclusive.most_common(top)]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print("\n\n".join(report(path, args.top) for path in args.profiles))


if __name__ == "__main__":
    main()
