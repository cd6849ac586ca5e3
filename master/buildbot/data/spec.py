"""`/application.spec`: every endpoint path pattern with its resource type's fields.

Field types are written in the notation of `ResourceType.fields` (`int`, `str?`,
`[ts]`, `id(50)`...). A field holding a whole entity is `entity(NAME)`: NAME is a
resource type (`entity(sourcestamp)` is described by `SourceStamp.fields`) or one of
`NESTED_ENTITIES`, the entities that only ever appear inside others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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
_ENTITY = re.compile(r"^entity\((\w+)\)$")
# the entity of a properties endpoint is a whole properties object, with no fields
_SOURCED_PROPERTIES = "sourcedproperties"

# entities with no endpoint of their own, by the names the reference publishes
NESTED_ENTITIES: dict[str, dict[str, str]] = {
    "patch": {
        "patchid": "int",
        "body": "binary",
        "level": "int",
        "subdir": "str",
        "author": "str",
        "comment": "str",
    },
    "Url": {"name": "str", "url": "str"},
    "master_id": {"masterid": "int"},
    "master_builder": {"masterid": "int", "builderid": "int"},
}

#: the fields of the entity type of that name
Resolver = Callable[[str], Mapping[str, str]]


def nested_entity_fields(name: str) -> Mapping[str, str]:
    return NESTED_ENTITIES[name]


def _parse(notation: str) -> tuple[str, bool]:
    return notation.rstrip("?"), notation.endswith("?")


def _list_of(t: str) -> str | None:
    return t[1:-1] if t.startswith("[") and t.endswith("]") else None


def field_type_spec(notation: str, resolve: Resolver = nested_entity_fields) -> dict[str, Any]:
    """The spec of one field type, as the reference publishes it: `int` ->
    {"name": "integer"}; `?` adds `can_be_null`; `[T]` is {"type": "list", "of": T};
    `id(N)` is an identifier (its length is not published); `entity(E)` is the type
    spec of entity E, its fields found by `resolve`."""
    t, nullable = _parse(notation)
    spec: dict[str, Any]
    if (item := _list_of(t)) is not None:
        spec = {"type": "list", "of": field_type_spec(item, resolve)}
    elif m := _ENTITY.match(t):
        spec = type_spec(m.group(1), resolve(m.group(1)), resolve)
    elif _IDENTIFIER.match(t):
        spec = {"name": "identifier"}
    else:
        spec = {"name": _TYPE_NAMES.get(t, t)}
    if nullable:
        spec["can_be_null"] = True
    return spec


def field_type_name(notation: str) -> str:
    """The `type` text of a field: `integer`, `list`, an entity's name... with
    ` or None` if nullable."""
    t, nullable = _parse(notation)
    if _list_of(t) is not None:
        name = "list"
    elif m := _ENTITY.match(t):
        name = m.group(1)
    elif _IDENTIFIER.match(t):
        name = "identifier"
    else:
        name = _TYPE_NAMES.get(t, t)
    return f"{name} or None" if nullable else name


def entity_type_name(type_name: str) -> str:
    return _SOURCED_PROPERTIES if type_name == "property" else type_name


def type_spec(
    type_name: str, fields: Mapping[str, str], resolve: Resolver = nested_entity_fields
) -> dict[str, Any]:
    """The spec of an entity type: its name and, per field, name, type and type spec
    (a properties object is published as one type without fields)."""
    if entity_type_name(type_name) == _SOURCED_PROPERTIES:
        return {"name": _SOURCED_PROPERTIES}
    out = [
        {"name": name, "type": field_type_name(n), "type_spec": field_type_spec(n, resolve)}
        for name, n in fields.items()
    ]
    return {"type": type_name, "fields": out}


def connector_resolver(data: Any) -> Resolver:
    """Entity fields from the resource types of the data connector `data`, or else
    from `NESTED_ENTITIES`."""

    def resolve(name: str) -> Mapping[str, str]:
        rtype = data.getResourceType(name)
        return rtype.fields if rtype is not None else nested_entity_fields(name)

    return resolve


class SpecEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/application.spec"

    async def get(self, resultSpec, kwargs):
        resolve = connector_resolver(self.master.data)
        return [
            {
                "path": ep["path"],
                "type": entity_type_name(ep["type"]),
                "plural": ep["plural"],
                "type_spec": type_spec(ep["type"], ep["fields"], resolve),
            }
            for ep in self.master.data.allEndpoints()
        ]


class Spec(base.ResourceType):
    name = "spec"
    plural = "specs"
    endpoints = [SpecEndpoint]
    fields = {"path": "str", "type": "str", "plural": "str", "type_spec": "json"}
