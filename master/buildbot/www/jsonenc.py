"""JSON as the REST API writes it: sorted keys, datetimes as epoch seconds, bytes as null."""

from __future__ import annotations

import datetime
import json
from json.encoder import encode_basestring_ascii
from typing import Any

from buildbot.util import datetime2epoch


def default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return datetime2epoch(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return None
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=default)
# the reference's readable form: 2-space indent, ", " between items
_PRETTY = json.JSONEncoder(sort_keys=True, indent=2, separators=(", ", ": "), default=default)
_INDENT = "  "


# The standard library writes indented JSON in pure Python, one generator step per
# token: most of the time of a REST read of a page of builds.  The readable form is
# made here from C-encoded pieces instead, byte for byte the same as `_PRETTY`: a
# container holding no non-empty container is C-encoded whole, with an item
# separator that carries the newline and the indent of its depth.


class _Fallback(Exception):
    """Something the fast path does not reproduce exactly (non-string keys)."""


# value types the C encoder writes the same at any depth (datetime and bytes through
# `default`, into a number or null)
_FLAT_TYPES = frozenset({str, int, float, bool, type(None), datetime.datetime, bytes})
_CONTAINERS = (dict, list, tuple)

_flat_encoders: list[json.JSONEncoder] = []


def _flat_encoder(depth: int) -> json.JSONEncoder:
    """A C encoder whose items sit `depth` indents deep."""
    while len(_flat_encoders) <= depth:
        sep = ", \n" + _INDENT * len(_flat_encoders)
        _flat_encoders.append(
            json.JSONEncoder(sort_keys=True, separators=(sep, ": "), default=default)
        )
    return _flat_encoders[depth]


def _is_flat(values: Any) -> bool:
    for v in values:
        t = type(v)
        if t in _FLAT_TYPES:
            continue
        if (t is dict or t is list or t is tuple) and not v:
            continue
        return False
    return True


def _pretty(o: Any, level: int) -> str:
    if isinstance(o, dict):
        if not o:
            return "{}"
        inner = _INDENT * (level + 1)
        if _is_flat(o.values()):
            body = _flat_encoder(level + 1).encode(o)[1:-1]
        else:
            parts = []
            for k, v in sorted(o.items()):
                if not isinstance(k, str):
                    raise _Fallback
                parts.append(encode_basestring_ascii(k) + ": " + _pretty(v, level + 1))
            body = (", \n" + inner).join(parts)
        return "{\n" + inner + body + "\n" + _INDENT * level + "}"
    if isinstance(o, (list, tuple)):
        if not o:
            return "[]"
        inner = _INDENT * (level + 1)
        if _is_flat(o):
            body = _flat_encoder(level + 1).encode(o)[1:-1]
        else:
            body = (", \n" + inner).join([_pretty(v, level + 1) for v in o])
        return "[\n" + inner + body + "\n" + _INDENT * level + "]"
    if isinstance(o, str):
        return encode_basestring_ascii(o)
    if o is None or isinstance(o, (int, float)):
        return _COMPACT.encode(o)
    return _pretty(default(o), level)


def pretty(obj: Any) -> str:
    """`obj` in the readable form (the same text as `_PRETTY.encode(obj)`)."""
    try:
        return _pretty(obj, 0)
    except (_Fallback, RecursionError):
        return _PRETTY.encode(obj)


def dumps(obj: Any, compact: bool = True) -> bytes:
    """`obj` as UTF-8 JSON; both forms are made by the C encoder (no per-item Python work)."""
    return (_COMPACT.encode(obj) if compact else pretty(obj)).encode("utf-8")
