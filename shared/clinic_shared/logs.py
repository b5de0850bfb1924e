"""JSON logs, one object per line, each carrying the request id it belongs to.

The gateway sets `X-Request-ID`; services read it per request and put it into the events they
write as `correlation_id`, and workers bind it back while handling those events, so one id
follows a booking from the web page to the e-mail.

Log lines carry ids, never a client's name, e-mail, phone or answers (issue #10). Two helpers keep
what errors would echo out of them: `describe_failure` gives an exception's kind without its message,
and the formatter withholds PostgreSQL's `DETAIL:` lines, which quote the row or key that failed.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import datetime, timezone

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# "DETAIL:  Key (email)=(ada@example.org) already exists." / "DETAIL:  Failing row contains (…)."
_ROW_DETAIL = re.compile(r"^(\s*)DETAIL:.*$", re.MULTILINE)
WITHHELD_DETAIL = r"\1DETAIL: (withheld from the log: it quotes row values)"


def bind_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "message": without_row_values(record.getMessage()),
        }
        request_id = current_correlation_id()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = without_row_values(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def without_row_values(text: str) -> str:
    """`text` with the DETAIL lines of PostgreSQL errors withheld (SQL parameters are hidden by the engine)."""
    return _ROW_DETAIL.sub(WITHHELD_DETAIL, text) if "DETAIL:" in text else text


def describe_failure(exc: BaseException) -> str:
    """An exception as a log line or a dead-letter header may show it: its kind and its causes' kinds, the
    fields a validation error names, a constraint or SMTP reply code; never a message, which can echo the
    values that caused it (a name, an e-mail address, an answer)."""
    parts = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 3:
        part = type(current).__name__
        messages = getattr(current, "messages", None)  # marshmallow's ValidationError
        if isinstance(messages, dict):
            part += f" on {', '.join(_field_paths(messages)) or 'the whole object'}"
        elif isinstance(current, KeyError) and current.args and str(current.args[0]).isidentifier():
            part += f" {current.args[0]}"  # the missing field's name
        constraint = getattr(getattr(current, "diag", None), "constraint_name", None)  # psycopg
        if constraint:
            part += f" ({constraint})"
        code = getattr(current, "smtp_code", None)
        if code:
            part += f" {code}"
        parts.append(part)
        current = current.__cause__
    return " from ".join(parts)


def _field_paths(messages: dict, prefix: str = "") -> list[str]:
    paths = []
    for key, value in messages.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(isinstance(v, (dict, list)) for v in value.values()):
            paths.extend(_field_paths(value, f"{path}."))
        else:
            paths.append(path)
    return sorted(paths)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send this process's logs to stderr as JSON lines. Called by entry points, never at import."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
