"""Requests no handler should ever see, refused at the door of every service (and so of the gateway).

- A body sent chunked (no Content-Length) over 64 KiB: Werkzeug would quietly cut it at the limit;
  it is refused with 413 like any other large body.
- A JSON body nested deeper than the parser can recurse: `json.loads` raises RecursionError, which is
  no ValueError, so it would have been a 500; it is a 400 `bad_request`.
- A NUL character (U+0000) in the path, the query or a JSON string: PostgreSQL text cannot hold one, so
  the database would raise; no valid id or text contains one, so it is a 404 in a path and a 422
  naming the field elsewhere.
- A body the app did not read (a 413 is answered without reading it): left on a kept-alive connection it
  would be taken for the client's next request. gunicorn announces keep-alive, drains only 64 KiB and then
  closes the connection under the client, and it drops an app's `Connection: close`. So the rest of the body
  is read and discarded (up to DRAIN_LIMIT) before answering, and a 413 says `Connection: close` for the
  servers and proxies that honour it.
"""
from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl

from flask import request

from .errors import MAX_BODY_BYTES, STATUS_CODES, error_body, error_response

NUL_MESSAGE = "Must not contain a NUL character."
DRAIN_LIMIT = 1024 * 1024  # past this, reading a refused body costs more than a new connection


class CountingInput:
    """`wsgi.input`, counting the bytes read from it (no `readinto`: Werkzeug then reads through `read`)."""

    def __init__(self, stream):
        self._stream = stream
        self.consumed = 0

    def _counted(self, data: bytes) -> bytes:
        self.consumed += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(self._stream.read() if size is None or size < 0 else self._stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(self._stream.readline() if size is None or size < 0 else self._stream.readline(size))

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return [self._counted(line) for line in self._stream.readlines(*(() if hint is None else (hint,)))]

    def __iter__(self):
        return iter(self.readline, b"")


class DrainUnreadBodies:
    def __init__(self, wsgi_app, limit: int = DRAIN_LIMIT):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        if "wsgi.input" not in environ:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"] = CountingInput(environ["wsgi.input"])
        length = environ.get("CONTENT_LENGTH")  # read now: an inner layer may rewrite it
        left = int(length) if length and length.isdigit() else (None if environ.get("wsgi.input_terminated") else 0)

        def start(status: str, headers: list, exc_info=None):
            if status.startswith("413"):
                headers = [(n, v) for n, v in headers if n.lower() != "connection"] + [("Connection", "close")]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, start)
        discard(body, None if left is None else left - body.consumed, self.limit)
        return result


def discard(body: CountingInput, left: int | None, limit: int) -> None:
    """Read and drop what is left of a body: `left` bytes, or up to its end when None; never past `limit`."""
    budget = limit if left is None else min(left, limit)
    try:
        while budget > 0:
            chunk = body.read(min(budget, 65536))
            if not chunk:
                return
            budget -= len(chunk)
    except Exception:  # noqa: BLE001 - the client left, or sent broken chunks: the server closes the connection
        return


class BufferChunkedBodies:
    def __init__(self, wsgi_app, limit: int = MAX_BODY_BYTES):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated"):
            return self.wsgi_app(environ, start_response)
        body = read_at_most(environ["wsgi.input"], self.limit + 1)
        if len(body) > self.limit:
            code, message = STATUS_CODES[413]
            payload = json.dumps(error_body(code, message)).encode()
            start_response("413 Request Entity Too Large", [("Content-Type", "application/json"),
                                                            ("Content-Length", str(len(payload))),
                                                            ("Connection", "close")])
            return [payload]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.wsgi_app(environ, start_response)


def read_at_most(stream, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        chunk = stream.read(min(left, 16384))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _too_deep(_exc: RecursionError):
    return error_response(400, message="The JSON body is nested too deeply.")


def nul_field(value, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a NUL character in a JSON value, or None."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = nul_field(item, here)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_field(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def refuse_nul_characters():
    if "\x00" in request.path:
        return error_response(404, message="There is no endpoint or resource at that path.")
    # This runs before every request of every service, so what cannot hold a NUL is neither parsed nor walked:
    # a query decodes to one only from "%00" or a raw NUL, and UTF-8 JSON holds one only as the escape \u0000
    # (a body with a raw NUL byte, UTF-16 or UTF-32 JSON among them, is walked).
    query = request.query_string
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
            if "\x00" in name or "\x00" in value:
                return _refused(name.replace("\x00", "") or "query")
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        body = request.get_data(cache=True)
        if b"\\u0000" in body or b"\x00" in body:
            field = nul_field(request.get_json(silent=True, cache=True))
            if field:
                return _refused(field.replace("\x00", ""))
    return None


def _refused(field: str):
    return error_response(422, details={"fields": {field: [NUL_MESSAGE]}})


def install_request_guards(app) -> None:
    app.wsgi_app = DrainUnreadBodies(BufferChunkedBodies(app.wsgi_app))
    app.register_error_handler(RecursionError, _too_deep)
    app.before_request(refuse_nul_characters)
