"""What a data API read asks for: filters, fields, order and a page.

    spec = ResultSpec(filters=[Filter("complete", "eq", [False])], order=["-buildid"], limit=10)

An endpoint first *pops* the parts it can hand to SQL (`popBooleanFilter`,
`popIntegerFilter`...); `apply` then does the rest in Python. The REST layer
turns query arguments into a ResultSpec, parsing values with `parse_value`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from buildbot.util import epoch2datetime

_OPS: dict[str, Callable[[Any, list[Any]], bool]] = {
    "eq": lambda v, vs: v in vs,
    "ne": lambda v, vs: v not in vs,
    "in": lambda v, vs: v in vs,
    "notin": lambda v, vs: v not in vs,
    "lt": lambda v, vs: v is not None and v < vs[0],
    "le": lambda v, vs: v is not None and v <= vs[0],
    "gt": lambda v, vs: v is not None and v > vs[0],
    "ge": lambda v, vs: v is not None and v >= vs[0],
    "contains": lambda v, vs: v is not None and any(x in v for x in vs),
}

#: the operators of `<field>__<op>` filters
OPERATORS = tuple(_OPS)
#: the operators that take a single value
SINGLE_VALUE_OPERATORS = ("lt", "le", "gt", "ge")

_IDENTIFIER = re.compile(r"^[a-zA-Z_-][a-zA-Z0-9._-]*$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class Filter:
    """`field` compared with `op` to `values` (a list; most operators use all of it)."""

    def __init__(self, field: str, op: str, values: Iterable[Any]) -> None:
        if op not in _OPS:
            raise ValueError(f"unknown filter operator {op!r}")
        self.field = field
        self.op = op
        self.values = list(values)

    def matches(self, value: Any) -> bool:
        try:
            return _OPS[self.op](value, self.values)
        except TypeError:  # e.g. a number compared with a string
            return False

    def apply(self, data: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        return (d for d in data if self.matches(d.get(self.field)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Filter):
            return NotImplemented
        return (self.field, self.op, self.values) == (other.field, other.op, other.values)

    def __repr__(self) -> str:
        return f"Filter({self.field!r}, {self.op!r}, {self.values!r})"


class ListResult(list):
    """A page of a collection; `total` counts the matches before paging (None: unknown)."""

    def __init__(
        self,
        items: Iterable[Any] = (),
        total: int | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(items)
        self.total = total
        self.offset = offset
        self.limit = limit


def _sort_key(field: str, descending: bool) -> Callable[[dict[str, Any]], tuple]:
    # None sorts first ascending and last descending: as one rank below any value
    def key(d: dict[str, Any]) -> tuple:
        v = d.get(field)
        return (0, 0) if v is None else (1, v)

    return key


class ResultSpec:
    """A read's filters, wanted fields, sort keys (`-f` = descending) and page.

    `properties` lists the build/buildrequest property names wanted (`*` = all).
    """

    def __init__(
        self,
        filters: Sequence[Filter] | None = None,
        fields: Sequence[str] | None = None,
        order: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        properties: Sequence[str] | None = None,
    ) -> None:
        self.filters: list[Filter] = list(filters or [])
        self.fields: list[str] | None = list(fields) if fields is not None else None
        self.order: list[str] | None = list(order) if order is not None else None
        self.limit = limit
        self.offset = offset
        self.properties: list[str] = list(properties or [])

    def __repr__(self) -> str:
        return (
            f"ResultSpec(filters={self.filters!r}, fields={self.fields!r}, "
            f"order={self.order!r}, limit={self.limit!r}, offset={self.offset!r}, "
            f"properties={self.properties!r})"
        )

    # --- the parts an endpoint takes over (they are then not applied again) ---

    def popFilter(self, field: str, op: str) -> list[Any] | None:
        """The values of the first `field`/`op` filter, removed from the spec; else None."""
        for f in self.filters:
            if f.field == field and f.op == op:
                self.filters.remove(f)
                return f.values
        return None

    def popOneFilter(self, field: str, op: str) -> Any:
        """Like popFilter for a single value; a filter with several values stays."""
        for f in self.filters:
            if f.field == field and f.op == op and len(f.values) == 1:
                self.filters.remove(f)
                return f.values[0]
        return None

    def popBooleanFilter(self, field: str) -> bool | None:
        """`field == True/False` (eq, or ne with the opposite), removed; else None."""
        eq = self.popOneFilter(field, "eq")
        if eq is not None:
            return bool(eq)
        ne = self.popOneFilter(field, "ne")
        if ne is not None:
            return not ne
        return None

    def popIntegerFilter(self, field: str) -> int | None:
        value = self.popOneFilter(field, "eq")
        return int(value) if value is not None else None

    def popStringFilter(self, field: str) -> str | None:
        value = self.popOneFilter(field, "eq")
        return str(value) if value is not None else None

    def popProperties(self) -> list[str]:
        props, self.properties = self.properties, []
        return props

    def popField(self, field: str) -> bool:
        """Whether `field` is wanted (every field is when no list is given)."""
        return self.fields is None or field in self.fields

    def removePagination(self) -> None:
        self.limit = self.offset = None

    def removeOrder(self) -> None:
        self.order = None

    def hasOnlyFilters(self, fields: Iterable[str]) -> bool:
        """Whether every filter is on one of `fields` (so all of them may go to SQL)."""
        allowed = set(fields)
        return all(f.field in allowed for f in self.filters)

    # --- what is left, applied in Python ---

    def _project(self, entity: dict[str, Any]) -> dict[str, Any]:
        if self.fields is None:
            return entity
        return {k: v for k, v in entity.items() if k in self.fields}

    def apply(self, data: Any) -> Any:
        """Filter, sort, page and project `data` (an entity, a list of them, or None).

        A list gives a ListResult whose `total` is the count before paging.
        """
        if data is None:
            return None
        if isinstance(data, dict):
            return self._project(data)
        items: Iterable[dict[str, Any]] = data
        for f in self.filters:
            items = f.apply(items)
        items = list(items)
        for key in reversed(self.order or []):
            descending = key.startswith("-")
            field = key[1:] if descending else key
            items.sort(key=_sort_key(field, descending), reverse=descending)
        total = getattr(data, "total", None)
        if total is None or self.filters:
            total = len(items)
        offset, limit = self.offset, self.limit
        if offset:
            items = items[offset:]
        if limit is not None:
            items = items[:limit]
        return ListResult(
            [self._project(i) for i in items], total=total, offset=offset, limit=limit
        )


def parse_value(field_type: str, text: str) -> Any:
    """A query-string value converted to a field's type (spec notation: `int`, `bool`,
    `ts`, `str`, `id(50)`, with `?` for nullable and `[T]` for lists, whose filters
    compare elements). ValueError if it does not parse."""
    t = field_type.rstrip("?")
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    if t == "int":
        return int(text)
    if t == "bool":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"not a boolean: {text!r}")
    if t == "ts":
        return epoch2datetime(int(text))
    if t.startswith("id("):
        length = int(t[3:-1])
        if len(text) > length or not _IDENTIFIER.match(text):
            raise ValueError(f"not an identifier of at most {length} characters: {text!r}")
        return text
    return text
