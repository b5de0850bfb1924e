"""Request ids at the edge: keep a client's `X-Request-ID` only when it is sane.

The id travels into every service's logs and events (as correlation_id), so the gateway, the
system's edge, drops anything odd before the shared request-id hook sees it; that hook then
makes a fresh one.
"""
from __future__ import annotations

import re

_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ENVIRON_KEY = "HTTP_X_REQUEST_ID"


def is_sane_request_id(value: str | None) -> bool:
    return bool(value) and _SANE.fullmatch(value) is not None


class DropInsaneRequestIds:
    """WSGI middleware: removes an `X-Request-ID` header that is not a sane id."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if _ENVIRON_KEY in environ and not is_sane_request_id(environ[_ENVIRON_KEY]):
            del environ[_ENVIRON_KEY]
        return self.wsgi_app(environ, start_response)
