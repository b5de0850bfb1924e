"""A JSON body nested deeper than Python's parser can recurse is a bad request, not a crash.

`json.loads` raises RecursionError (not ValueError) on such a body, so Flask's silent JSON parsing
does not catch it and the shared envelope would answer 500. The gateway is the edge: it answers 400
`bad_request` and the body never reaches a service.
"""
from __future__ import annotations

from clinic_shared.errors import error_response


def _too_deep(_exc: RecursionError):
    return error_response(400, message="The JSON body is nested too deeply.")


def install_json_depth_guard(app) -> None:
    app.register_error_handler(RecursionError, _too_deep)
