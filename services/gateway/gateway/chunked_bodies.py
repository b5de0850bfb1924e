"""The 64 KiB limit for bodies sent without a Content-Length (chunked transfer encoding).

For such a body Werkzeug stops reading at MAX_CONTENT_LENGTH without complaint, so a 100 KiB body
would arrive cut to 64 KiB: a 400 for broken JSON at best, a truncated request at worst. API.md says
413. This WSGI middleware reads a chunked body itself (one byte past the limit), answers 413 in the
contract's envelope when it is too large, and otherwise hands the app the body with its length.
"""
from __future__ import annotations

import io
import json

from clinic_shared.errors import MAX_BODY_BYTES, STATUS_CODES, error_body


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
