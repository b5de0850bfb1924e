"""The services behind the gateway, over HTTP: forwarding, health, OpenAPI documents.

One `requests.Session` (its connection pool is shared by the gateway's threads) with timeouts
on every call: a service that does not answer becomes 503 `service_unavailable`, never a hang.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Mapping
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from clinic_shared.errors import ApiError

DEFAULT_TIMEOUT = (3.05, 30.0)  # (connect, read) seconds for forwarded requests
PROBE_TIMEOUT = (1.0, 3.0)      # health and OpenAPI fetches: a quick answer or none
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class Upstreams:
    def __init__(self, urls: Mapping[str, str], timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 probe_timeout: tuple[float, float] = PROBE_TIMEOUT, pool_size: int = 32):
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=len(self.urls) or 1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def forward(self, service: str, method: str, path: str, query_string: str, body: bytes,
                headers: Mapping[str, str]) -> requests.Response:
        url = self.urls[service] + quote(path, safe=_PATH_SAFE) + (f"?{query_string}" if query_string else "")
        try:
            return self.session.request(method, url, data=body or None, headers=dict(headers),
                                        timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise unavailable(service) from exc

    def health(self) -> dict[str, str]:
        """service -> "ok" or "down", asking every service at once."""
        def probe(name: str) -> str:
            try:
                response = self.session.get(self.urls[name] + "/health", timeout=self.probe_timeout)
            except requests.RequestException:
                return "down"
            return "ok" if response.status_code == 200 else "down"

        return dict(zip(self.urls, self._each(probe)))

    def openapi_documents(self) -> tuple[dict[str, dict], list[str]]:
        """(service -> its OpenAPI document, services that did not give one)."""
        def fetch(name: str) -> dict | None:
            try:
                response = self.session.get(self.urls[name] + "/openapi.json", timeout=self.probe_timeout)
                document = response.json() if response.status_code == 200 else None
            except (requests.RequestException, ValueError):
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
