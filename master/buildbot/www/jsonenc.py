"""JSON as the REST API writes it: sorted keys, datetimes as epoch seconds, bytes as null."""

from __future__ import annotations

import datetime
import json
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


def dumps(obj: Any, compact: bool = True) -> bytes:
    """`obj` as UTF-8 JSON; compact uses the C encoder (no per-item Python work)."""
    return (_COMPACT if compact else _PRETTY).encode(obj).encode("utf-8")
