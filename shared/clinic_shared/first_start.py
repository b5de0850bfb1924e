"""`python -m clinic_shared.first_start`: make the data dir and secrets before the processes start.

The staff token is printed once, on the start that creates it; after that it stays in
`<data dir>/staff-token` (or comes from CLINIC_STAFF_TOKEN and is never printed).
"""
from __future__ import annotations

import os

from .settings import load_settings


def main() -> None:
    data_dir = load_settings("gateway").data_dir  # probe only: may create both secrets
    token_file = data_dir / "staff-token"
    if os.environ.get("CLINIC_STAFF_TOKEN"):
        return
    marker = data_dir / ".staff-token-shown"
    if token_file.exists() and not marker.exists():
        print(f"Staff token (stored in {token_file}): {token_file.read_text().strip()}", flush=True)
        marker.touch()


if __name__ == "__main__":
    main()
