"""The container health check: `python -m clinic_shared.healthcheck <service>`, each Dockerfile's HEALTHCHECK.

One image runs a service's web process, its worker and its migrations, so the check looks at what runs
in this container: a worker touches `CLINIC_WORKER_ALIVE_FILE` while every one of its loops is alive
(clinic_shared.worker); a web process answers `GET /health` on its port. The web check asks only that the
process answers: a 503 there means a backend is down, which is that backend's health, not this
container's (restarting it would not help).
"""
from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from .settings import port_of

ALIVE_FILE_MAX_AGE_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 3.0


def worker_problem(alive_file: Path, now: float | None = None) -> str | None:
    """Why the worker is not healthy, or None when it touched its file recently."""
    try:
        age = (time.time() if now is None else now) - alive_file.stat().st_mtime
    except FileNotFoundError:
        return f"{alive_file} does not exist"
    if age > ALIVE_FILE_MAX_AGE_SECONDS:
        return f"{alive_file} last touched {age:.0f} s ago"
    return None


def web_problem(port: int) -> str | None:
    """Why the web process is not healthy, or None when it answers GET /health at all."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=HTTP_TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError as answered:
        return None if answered.code == 503 else f"GET /health answered {answered.code}"
    except OSError as exc:
        return f"GET /health on port {port}: {exc}"


def problem(service: str, env: Mapping[str, str]) -> str | None:
    alive_file = env.get("CLINIC_WORKER_ALIVE_FILE")
    if alive_file and Path(alive_file).exists():
        return worker_problem(Path(alive_file))
    return web_problem(port_of(env, service))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m clinic_shared.healthcheck <service>", file=sys.stderr)
        return 2
    found = problem(args[0], os.environ)
    if found:
        print(found, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
