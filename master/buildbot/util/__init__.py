"""Small helpers shared across the master (and used by custom steps in master.cfg)."""

from __future__ import annotations

import datetime
import itertools
import re
import string
from collections.abc import Iterable
from typing import Any

from twisted.internet import defer

UTC = datetime.UTC


def _default_reactor():
    # Imported late: importing the reactor installs the default one, and a
    # helper module must not choose the reactor for the program that uses it.
    from twisted.internet import reactor

    return reactor


class ComparableMixin:
    """Equality and hashing by the attributes named in `compare_attrs`.

    Subclasses extend the tuple; instances of different classes never compare equal.
    """

    compare_attrs: tuple[str, ...] = ()

    class _None:
        pass

    def _cmp_values(self) -> tuple:
        return tuple(getattr(self, name, self._None) for name in self.compare_attrs)

    def __hash__(self) -> int:
        try:
            return hash((self.__class__, self._cmp_values()))
        except TypeError:  # an unhashable attribute: equal objects still hash equal
            return hash(self.__class__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComparableMixin) or self.__class__ != other.__class__:
            return NotImplemented
        return self._cmp_values() == other._cmp_values()

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def getConfigDict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.compare_attrs if hasattr(self, name)}


def bytes2unicode(x: Any, encoding: str = "utf-8", errors: str = "strict") -> Any:
    """Decode bytes; str and None pass through unchanged."""
    if isinstance(x, (str, type(None))):
        return x
    return str(x, encoding, errors)


def unicode2bytes(x: Any, encoding: str = "utf-8", errors: str = "strict") -> Any:
    """Encode str; other values pass through unchanged."""
    if isinstance(x, str):
        return x.encode(encoding, errors)
    return x


def epoch2datetime(epoch: float | None) -> datetime.datetime | None:
    """An aware UTC datetime from epoch seconds (None stays None)."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=UTC)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = datetime.timedelta(seconds=1)


def datetime2epoch(dt: datetime.datetime | None) -> int | None:
    """Whole epoch seconds (rounded down) from a datetime (naive ones are taken as UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # timedelta arithmetic in C: several times faster than timegm(utctimetuple())
    return (dt - _EPOCH) // _SECOND


def now(_reactor=None) -> float:
    """The reactor's idea of the time, so tests with a task.Clock control it."""
    return (_reactor or _default_reactor()).seconds()


def flatten(seq: Any, types: type | tuple[type, ...] = (list, tuple)) -> list:
    """Flatten nested lists/tuples (or `types`) into one list."""
    if not isinstance(seq, types):
        return seq
    out: list = []
    for item in seq:
        if isinstance(item, types):
            out.extend(flatten(item, types))
        else:
            out.append(item)
    return out


def naturalSort(items: Iterable[str]) -> list[str]:
    """Sort strings so that embedded numbers compare as numbers ('a2' < 'a10')."""

    def key(s: str) -> list:
        return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", s)]

    return sorted(items, key=key)


def join_list(maybe_list: Any) -> str:
    """Join a list or tuple of strings with spaces; a string passes through."""
    if isinstance(maybe_list, (list, tuple)):
        return " ".join(bytes2unicode(s) for s in maybe_list)
    return bytes2unicode(maybe_list)


_SAFE_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")


def safeTranslate(s: str | bytes) -> bytes:
    """A file-system-safe version of a name: other characters become '_'."""
    text = bytes2unicode(s)
    return "".join(c if c in _SAFE_CHARS else "_" for c in text).encode("ascii")


def asyncSleep(delay: float, reactor=None) -> defer.Deferred:
    """A Deferred that fires after `delay` seconds of `reactor` time."""
    from twisted.internet import task

    return task.deferLater(reactor or _default_reactor(), delay, lambda: None)


def human_readable_delta(start: float, end: float | None = None) -> str:
    """'1 hours, 2 minutes, 3 seconds'-style duration between two epoch times."""
    end = now() if end is None else end
    total = int(end - start)
    parts = []
    for name, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        value, total = divmod(total, size)
        if value:
            parts.append(f"{value} {name}")
    if total or not parts:
        parts.append(f"{total} seconds")
    return ", ".join(parts)


def chunkify(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    """Yield lists of at most `size` items."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk
