"""`/application.spec`: every endpoint path pattern with its resource type's fields."""

from __future__ import annotations

import re
from typing import Any

from buildbot.data import base

# our field notation -> the type names of the published spec
_TYPE_NAMES = {
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "ts": "datetime",
    "json": "jsonobject",
    "props": "sourcedproperties",
    "binary": "binary",
}
_IDENTIFIER = re.compile(r"^id\((\d+)\)$")


def field_type_spec(notation: str) -> dict[str, Any]:
    """The spec of one field type: `int` -> {"type": "integer"}; `?` adds
    `can_be_null`, `[T]` gives a list `of` T, `id(N)` an identifier of length N."""
    spec: dict[str, Any]
    nullable = notation.endswith("?")
    t = notation.rstrip("?")
    if t.startswith("[") and t.endswith("]"):
        spec = {"type": "list", "of": field_type_spec(t[1:-1])}
    elif m := _IDENTIFIER.match(t):
        spec = {"type": "identifier", "len": int(m.group(1))}
    else:
        spec = {"type": _TYPE_NAMES.get(t, t)}
    if nullable:
        spec["can_be_null"] = True
    return spec


def type_spec(type_name: str, fields: dict[str, str]) -> dict[str, Any]:
    """The spec of an entity type: its name and, per field, name, type and type spec."""
    out = []
    for name, notation in fields.items():
        spec = field_type_spec(notation)
        out.append({"name": name, "type": spec["type"], "type_spec": spec})
    return {"type": type_name, "fields": out}


class SpecEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/application.spec"

    async def get(self, resultSpec, kwargs):
        return [
            {
                "path": ep["path"],
                "type": ep["type"],
                "plural": ep["plural"],
                "type_spec": type_spec(ep["type"], ep["fields"]),
            }
            for ep in self.master.data.allEndpoints()
        ]


class Spec(base.ResourceType):
    name = "spec"
    plural = "specs"
    endpoints = [SpecEndpoint]
    fields = {"path": "str", "type": "str", "plural": "str", "type_spec": "json"}
