"""Messages lost between processes: kombu's stock file transport against the embedded broker (issue #11).

Runs shared/tests/file_broker_traffic.py (the same workload as the stress tests): 20,000 messages from
one process to another, then a smaller run whose consumer is SIGKILLed and restarted.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TRAFFIC = Path(__file__).resolve().parents[1] / "shared" / "tests" / "file_broker_traffic.py"


def main() -> None:
    spec = importlib.util.spec_from_file_location("file_broker_traffic", TRAFFIC)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    module.main()
