"""What a service's OpenAPI document says about values that come from its settings.

The schemas are classes written once, but some of what they accept is a setting (the areas of
CLINIC_AREAS, the questions of the rule set, the bounds of a course). A field names such a value
with `metadata={DOCUMENTED_BY: "areas"}`; `document_settings`, called in the app factory before the
blueprints are registered, writes that app's value into that app's document (an apispec attribute
function, bound to the app's own converter: nothing is read at import time or shared between apps).
The service checks requests against the same settings, so document and behaviour agree.
"""
from __future__ import annotations

from typing import Mapping

from flask_smorest import Api

DOCUMENTED_BY = "documented_by"


def document_settings(api: Api, documented: Mapping[str, Mapping]) -> None:
    """Fields with metadata documented_by=<name> get documented[name] in this app's document."""
    values = {name: dict(value) for name, value in documented.items()}

    def settings2properties(self, field, **kwargs) -> dict:
        name = field.metadata.get(DOCUMENTED_BY)
        return dict(values[name]) if name is not None else {}

    api.ma_plugin.converter.add_attribute_function(settings2properties)
