"""A clinic rule said no: the API answers 422 with the rule's code (409 for `slot_unavailable`)."""
from __future__ import annotations


class RuleViolation(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
