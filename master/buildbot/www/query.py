"""Query arguments of a REST read turned into a data API ResultSpec.

    spec = result_spec_from_args({"limit": ["10"], "complete": ["true"]}, fields, True)

Field values are parsed by the field's type (`resultspec.parse_value`); anything
the client got wrong raises `BadRequest` with a message naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from buildbot.data.resultspec import (
    OPERATORS,
    SINGLE_VALUE_OPERATORS,
    Filter,
    ResultSpec,
    parse_value,
)

_RESERVED = ("field", "order", "limit", "offset", "property")


class BadRequest(Exception):
    """The client's mistake: answered 400 with the message."""


def _int_arg(args: Mapping[str, Sequence[str]], name: str) -> int | None:
    values = args.get(name)
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        raise BadRequest(f"invalid {name}") from None


def _filter(param: str, field: str, op: str, texts: Sequence[str], ftype: str) -> Filter:
    try:
        values = [parse_value(ftype, t) for t in texts]
    except ValueError:
        raise BadRequest(f"invalid filter value for {param}") from None
    return Filter(field, op, values)


def result_spec_from_args(
    args: Mapping[str, Sequence[str]], fields: Mapping[str, str], is_collection: bool
) -> ResultSpec:
    """A ResultSpec for query `args` (name -> values) on an endpoint whose entities have
    `fields` (name -> type)."""
    selected = list(args.get("field", ())) or None
    for f in selected or ():
        if f not in fields:
            raise BadRequest(f"no such field '{f}'")
    order = list(args.get("order", ())) or None
    for key in order or ():
        if key.removeprefix("-") not in fields:
            raise BadRequest(f"no such field '{key.removeprefix('-')}'")
    limit = _int_arg(args, "limit")
    offset = _int_arg(args, "offset")
    properties = list(args.get("property", ()))

    filters = []
    for param, texts in args.items():
        if param in _RESERVED:
            continue
        if param in fields:
            filters.append(_filter(param, param, "eq", texts, fields[param]))
            continue
        field, sep, op = param.rpartition("__")
        if not sep:
            raise BadRequest(f"unrecognized query parameter '{param}'")
        # as in the reference, a malformed `x__op` is ignored rather than refused
        if field not in fields or op not in OPERATORS:
            continue
        if op in SINGLE_VALUE_OPERATORS and len(texts) != 1:
            continue
        filters.append(_filter(param, field, op, texts, fields[field]))

    if filters and not is_collection:
        raise BadRequest("this is not a collection")
    if selected is not None:
        if any(f.field not in selected for f in filters):
            raise BadRequest("cannot filter on un-selected fields")
        if any(k.removeprefix("-") not in selected for k in order or ()):
            raise BadRequest("cannot order on un-selected fields")
    return ResultSpec(
        filters=filters,
        fields=selected,
        order=order,
        limit=limit,
        offset=offset,
        properties=properties,
    )
