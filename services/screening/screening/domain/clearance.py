"""Staff clearance after a consultation: the only way out of consultation_required."""
from __future__ import annotations

DECISIONS = {"approved": "eligible", "declined": "not_suitable"}


class ClearanceNotAllowed(Exception):
    """Only a screening whose outcome is consultation_required can be cleared."""


def cleared_outcome(current_outcome: str, decision: str) -> str:
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    if current_outcome != "consultation_required":
        raise ClearanceNotAllowed(f"a screening with outcome {current_outcome} needs no clearance")
    return DECISIONS[decision]
