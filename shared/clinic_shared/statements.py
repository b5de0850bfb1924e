"""Counting the SQL statements an engine sends: what the hot paths' tests and bench/bench_hot_paths.py measure.

Every statement that reaches the database driver is counted (SQLite's `BEGIN IMMEDIATE` included; a
PostgreSQL transaction's implicit BEGIN and the COMMIT, sent by the driver, are not statements here).
Counts are deterministic for a given request and backend, unlike durations.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine


class StatementLog:
    def __init__(self):
        self.statements: list[str] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.statements)

    def _record(self, _conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        with self._lock:
            self.statements.append(" ".join(statement.split()))


@contextmanager
def statements_sent(engine: Engine) -> Iterator[StatementLog]:
    """The statements `engine` sends while the block runs (from any thread)."""
    log = StatementLog()
    event.listen(engine, "before_cursor_execute", log._record)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", log._record)
