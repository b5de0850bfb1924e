"""One OpenAPI 3 document out of the gateway's own and each service's.

Paths are taken from the service that owns them (routing.owner_of), so a service cannot
describe another's path. Components with the same name and the same definition are shared
(the error envelope, the bearer scheme); a name that means something else in a later document
is prefixed with its service's name, and that document's `$ref`s are rewritten to match.
Last, the links between operations (openapi_links), which cross services, are written in.
"""
from __future__ import annotations

import copy
import json
from typing import Mapping

from .openapi_links import add_links
from .routing import owner_of

_REF_PREFIX = "#/components/"


def merge_documents(own: dict, services: Mapping[str, dict], title: str, version: str) -> dict:
    """`own` is the gateway's document; `services` maps service name -> its document."""
    merged = {
        "openapi": own.get("openapi", "3.0.3"),
        "info": {"title": title, "version": version},
        "paths": {},
        "components": {},
        "tags": [],
    }
    _add(merged, own, prefix="Gateway", keep_path=lambda path: True)
    for name, document in services.items():
        _add(merged, document, prefix=name.capitalize(), keep_path=lambda path, n=name: owner_of(path) == n)
    if not merged["tags"]:
        del merged["tags"]
    return add_links(merged)


def _add(merged: dict, document: dict, prefix: str, keep_path) -> None:
    document = copy.deepcopy(document)
    renames = _renames(merged["components"], document.get("components", {}), prefix)
    document = _rewrite_refs(document, renames)
    for section, entries in document.get("components", {}).items():
        target = merged["components"].setdefault(section, {})
        for name, definition in entries.items():
            target.setdefault(renames.get((section, name), name), definition)
    for path, item in document.get("paths", {}).items():
        if keep_path(path):
            merged["paths"].setdefault(path, {}).update(item)
    known = {tag["name"] for tag in merged["tags"]}
    merged["tags"].extend(tag for tag in document.get("tags", []) if tag.get("name") not in known)


def _renames(existing: dict, incoming: dict, prefix: str) -> dict[tuple[str, str], str]:
    """(section, name) -> new name, for every incoming component that cannot share its name."""
    clashing = {(s, n) for s, entries in incoming.items() for n in entries if n in existing.get(s, {})}
    renamed = {key for key in clashing if _canonical(incoming[key[0]][key[1]]) != _canonical(existing[key[0]][key[1]])}
    # A definition equal to the existing one still differs if it refers to a renamed component.
    changed = True
    while changed:
        changed = False
        for key in clashing - renamed:
            if _refs(incoming[key[0]][key[1]]) & renamed:
                renamed.add(key)
                changed = True
    result = {}
    for section, name in sorted(renamed):
        taken = set(existing.get(section, {})) | set(incoming.get(section, {})) | {
            new for (s, _), new in result.items() if s == section}
        new, n = prefix + name, 2
        while new in taken:
            new, n = f"{prefix}{name}{n}", n + 1
        result[(section, name)] = new
    return result


def _refs(value) -> set[tuple[str, str]]:
    found = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            section, _, name = ref[len(_REF_PREFIX):].partition("/")
            found.add((section, name))
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found


def _rewrite_refs(value, renames: dict[tuple[str, str], str]):
    if not renames:
        return value
    if isinstance(value, dict):
        out = {key: _rewrite_refs(item, renames) for key, item in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            section, _, name = ref[len(_REF_PREFIX):].partition("/")
            if (section, name) in renames:
                out["$ref"] = f"{_REF_PREFIX}{section}/{renames[(section, name)]}"
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True)
