"""Run every benchmark in this folder (bench_*.py, each with a `main()` that prints its numbers)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def main() -> None:
    only = sys.argv[1:]
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== {path.stem}", flush=True)
        module.main()


if __name__ == "__main__":
    main()
