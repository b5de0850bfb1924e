"""Run every benchmark in this folder (bench_*.py, each with a `main()` that prints its numbers).

bench_system (the whole system under load, `make bench-system`) runs only when named: it takes minutes.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ONLY_WHEN_NAMED = {"bench_system"}


def main() -> None:
    only = sys.argv[1:]
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if (only and path.stem not in only) or (not only and path.stem in ONLY_WHEN_NAMED):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        # Registered under its name: a bench that starts a process with "spawn" (bench_worker_events) pickles its
        # target by module and name, which must find this very module, not a second import of the file.
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        print(f"== {path.stem}", flush=True)
        module.main()


if __name__ == "__main__":
    main()
