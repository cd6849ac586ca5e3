"""Matching data API paths against endpoint patterns.

A pattern is a tuple of elements: a literal, or a placeholder `n:name`
(integer), `i:name` (identifier), `s:name` or `:name` (any string). When
several patterns match, literals beat placeholders and `n:` beats the
other placeholders, element by element from the left.
"""

from __future__ import annotations

import re
from typing import Any

from buildbot.data.exceptions import InvalidPathError

_IDENTIFIER = re.compile(r"^[a-zA-Z_-][a-zA-Z0-9._-]*$")
_INTEGER = re.compile(r"^-?[0-9]+$")

# rank of an element kind: lower wins
_LITERAL, _NUMBER, _IDENT, _STRING = range(4)


def parse_pattern(text: str) -> tuple[str, ...]:
    """'/builds/n:buildid' -> ('builds', 'n:buildid')."""
    return tuple(e for e in text.strip().split("/") if e)


def _match_element(pattern: str, element: Any) -> tuple[int, str | None, Any] | None:
    """(rank, kwarg name or None, value) if `element` fits `pattern`, else None."""
    text = str(element)
    if ":" not in pattern:
        return (_LITERAL, None, None) if text == pattern else None
    kind, _, name = pattern.partition(":")
    if kind == "n":
        if isinstance(element, int) or _INTEGER.match(text):
            return _NUMBER, name, int(text)
        return None
    if kind == "i":
        return (_IDENT, name, text) if _IDENTIFIER.match(text) else None
    if kind in ("s", ""):
        return _STRING, name, text
    raise ValueError(f"bad pattern element {pattern!r}")


class Matcher:
    """Maps patterns to values; `match(path)` gives (value, kwargs) of the best pattern."""

    def __init__(self) -> None:
        self._patterns: dict[tuple[str, ...], Any] = {}
        # (length, first element) -> patterns: paths always start with a literal
        self._index: dict[tuple[int, str], list[tuple[str, ...]]] = {}

    def __setitem__(self, pattern: tuple[str, ...], value: Any) -> None:
        if pattern in self._patterns:
            raise ValueError(f"duplicate path pattern {'/'.join(pattern)}")
        for element in pattern:
            if ":" in element:
                _match_element(element, "")  # validates the kind
        self._patterns[pattern] = value
        first = pattern[0] if pattern else ""
        self._index.setdefault((len(pattern), first), []).append(pattern)

    def items(self):
        return self._patterns.items()

    def match(self, path: tuple[Any, ...]) -> tuple[Any, dict[str, Any]]:
        best: tuple[tuple[int, ...], Any, dict[str, Any]] | None = None
        first = str(path[0]) if path else ""
        for pattern in self._index.get((len(path), first), ()):
            value = self._patterns[pattern]
            ranks = []
            kwargs: dict[str, Any] = {}
            for p, e in zip(pattern, path, strict=True):
                m = _match_element(p, e)
                if m is None:
                    break
                ranks.append(m[0])
                if m[1] is not None:
                    kwargs[m[1]] = m[2]
            else:
                key = tuple(ranks)
                if best is None or key < best[0]:
                    best = (key, value, kwargs)
        if best is None:
            raise InvalidPathError("Invalid path: " + "/".join(str(e) for e in path))
        return best[1], best[2]
