"""Refuse a NUL character anywhere in a request, at the edge.

PostgreSQL text cannot hold U+0000: an id, a query value or a JSON string carrying one would make the
owning service's database raise, and the client would see a 500. No valid id or text contains one,
so the answer is the contract's: 404 for a path (no such resource), 422 naming the field otherwise.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from flask import request

from clinic_shared.errors import error_response

MESSAGE = "Must not contain a NUL character."


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
    query = request.query_string.decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
        if "\x00" in name or "\x00" in value:
            return _refused(name.replace("\x00", "") or "query")
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        field = nul_field(request.get_json(silent=True, cache=True))
        if field:
            return _refused(field.replace("\x00", ""))
    return None


def _refused(field: str):
    return error_response(422, "validation_error", "Some fields are missing or malformed.",
                          {"fields": {field: [MESSAGE]}})


def install_nul_guard(app) -> None:
    app.before_request(refuse_nul_characters)
