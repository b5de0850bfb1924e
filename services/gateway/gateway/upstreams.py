"""The services behind the gateway, over HTTP: forwarding, health, OpenAPI documents.

Every call goes through one urllib3 pool manager, shared by the gateway's threads (requests' own work
around urllib3 was a quarter of the gateway's CPU under load, and urllib3 reads no proxy variables or
.netrc, which must not apply to our own services). Every call has timeouts: a service that does not
answer becomes 503 `service_unavailable`, never a hang.

A pooled keep-alive connection can be closed by the service (gunicorn's keep-alive timeout) just as
the gateway sends on it. The pool then tries once more, on a new connection: any request whose
connection could not be opened (nothing was sent), and an idempotent one that was sent but not
answered. A POST or PATCH that may have reached the service is never sent twice: it is a 503, and the
client retries it with its Idempotency-Key.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import quote

import urllib3
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from clinic_shared.errors import ApiError

DEFAULT_TIMEOUT = (3.05, 30.0)  # (connect, read) seconds for forwarded requests
PROBE_TIMEOUT = (1.0, 3.0)      # health and OpenAPI fetches: a quick answer or none
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class StaleConnectionRetry(Retry):
    """One more try after a failed connection, never after a slow answer.

    urllib3 counts a read timeout as a read error, like a connection closed under the request; a
    service that is merely slow was working on the request, and waiting for it twice helps nobody.
    """

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if isinstance(error, ReadTimeoutError):
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)


def stale_connection_retry() -> Retry:
    return StaleConnectionRetry(
        total=1,
        connect=1,        # the connection failed before anything was sent: safe for any method
        read=1,           # sent, then closed unanswered: only for allowed_methods
        allowed_methods=IDEMPOTENT_METHODS,
        redirect=0, status=0, other=0,
        raise_on_status=False,               # a service's error answer is passed on as it is
        respect_retry_after_header=False,    # a 503 with Retry-After is the client's to retry
    )


@dataclass(frozen=True)
class Answer:
    """A service's answer to a forwarded request."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


class Upstreams:
    def __init__(self, urls: Mapping[str, str], timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 probe_timeout: tuple[float, float] = PROBE_TIMEOUT, pool_size: int = 32):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.pool = urllib3.PoolManager(num_pools=len(self.urls) or 1, maxsize=pool_size)

    def _urlopen(self, method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                 timeout: tuple[float, float] | None = None) -> urllib3.BaseHTTPResponse:
        """One call through the pool, `self.timeout` unless told (urllib3's HTTPError when it got no answer)."""
        connect, read = timeout or self.timeout
        return self.pool.urlopen(method, url, body=body, headers=dict(headers or {}), redirect=False,
                                 retries=stale_connection_retry(), timeout=urllib3.Timeout(connect=connect, read=read))

    def forward(self, service: str, method: str, path: str, query_string: str, body: bytes,
                headers: Mapping[str, str]) -> Answer:
        url = self.urls[service] + quote(path, safe=_PATH_SAFE) + (f"?{query_string}" if query_string else "")
        try:
            response = self._urlopen(method, url, body=body or None, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise unavailable(service) from exc
        return Answer(response.status, response.headers, response.data)

    def ask_each(self, services: list[str], method: str, path: str,
                 headers: Mapping[str, str]) -> dict[str, tuple[int, bytes] | None]:
        """Ask several services the same path at once: service -> (status, body), or None when it did not answer."""
        def ask(name: str) -> tuple[int, bytes] | None:
            try:
                response = self._urlopen(method, self.urls[name] + quote(path, safe=_PATH_SAFE), headers=headers)
            except urllib3.exceptions.HTTPError:
                return None
            return response.status, response.data

        with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
            return dict(zip(services, pool.map(ask, services)))

    def health(self) -> dict[str, str]:
        """service -> "ok" or "down", asking every service at once."""
        def probe(name: str) -> str:
            try:
                response = self._urlopen("GET", self.urls[name] + "/health", timeout=self.probe_timeout)
            except urllib3.exceptions.HTTPError:
                return "down"
            return "ok" if response.status == 200 else "down"

        return dict(zip(self.urls, self._each(probe)))

    def openapi_documents(self) -> tuple[dict[str, dict], list[str]]:
        """(service -> its OpenAPI document, services that did not give one)."""
        def fetch(name: str) -> dict | None:
            try:
                response = self._urlopen("GET", self.urls[name] + "/openapi.json", timeout=self.probe_timeout)
                document = json.loads(response.data) if response.status == 200 else None
            except (urllib3.exceptions.HTTPError, ValueError):
                return None
            return document if isinstance(document, dict) else None

        documents = dict(zip(self.urls, self._each(fetch)))
        return ({n: d for n, d in documents.items() if d is not None},
                [n for n, d in documents.items() if d is None])

    def _each(self, call) -> list:
        with ThreadPoolExecutor(max_workers=len(self.urls) or 1) as pool:
            return list(pool.map(call, self.urls))


def unavailable(service: str) -> ApiError:
    return ApiError(503, "service_unavailable",
                    f"The {service} service is not available right now; please try again shortly.",
                    {"service": service})
