"""Least-recently-used caches with a weak-reference safety net.

At most ``max_size`` values are held strongly, in recency order. Every value
that supports weak references is also recorded in a `WeakValueDictionary`, so
a value evicted from the strong queue but still referenced elsewhere in the
process is returned (and re-promoted) instead of being fetched again; such a
hit is counted in ``refhits``. This keeps one canonical object per key as long
as anybody holds it.

A ``None`` result of ``miss_fn`` is returned but never cached: it usually
means "not there (yet)", and caching it would hide an entry created later.
For the same reason ``put(key, None)`` removes ``key``.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure


def _check(condition: bool, message: str) -> None:
    # not `assert`: inv() must keep working under `python -O`
    if not condition:
        raise AssertionError(message)


class LRUCache:
    """Synchronous cache: ``get`` calls ``miss_fn(key, **kwargs)`` on a miss."""

    def __init__(self, miss_fn: Callable[..., Any], max_size: int = 50) -> None:
        self.miss_fn = miss_fn
        self.max_size = self._valid_size(max_size)
        self.hits = 0
        self.misses = 0
        self.refhits = 0
        # strong references; least recently used first
        self.cache: OrderedDict[Hashable, Any] = OrderedDict()
        self.weakrefs: weakref.WeakValueDictionary[Hashable, Any] = weakref.WeakValueDictionary()

    @staticmethod
    def _valid_size(max_size: int) -> int:
        if max_size < 0:
            raise ValueError(f"max_size must be >= 0, not {max_size!r}")
        return max_size

    def get(self, key: Hashable, **miss_fn_kwargs: Any) -> Any:
        found, value = self._lookup(key)
        if found:
            return value
        self.misses += 1
        value = self.miss_fn(key, **miss_fn_kwargs)
        if value is not None:
            self._store(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` for ``key`` (replacing any cached one) as most recent.

        Putting None forgets the key, in line with None never being cached.
        """
        if value is None:
            self.cache.pop(key, None)
            self.weakrefs.pop(key, None)
        else:
            self._store(key, value)

    def set_max_size(self, max_size: int) -> None:
        """Change the size of the strong queue, evicting the oldest entries."""
        self.max_size = self._valid_size(max_size)
        self._evict()

    def keys(self) -> list[Hashable]:
        """Keys held strongly, least recently used first."""
        return list(self.cache)

    def __len__(self) -> int:
        return len(self.cache)

    def __contains__(self, key: object) -> bool:
        # no effect on recency or counters; weakly-held entries don't count
        return key in self.cache

    def inv(self) -> None:
        """Check internal consistency; raise AssertionError if broken."""
        _check(len(self.cache) <= self.max_size, "strong queue larger than max_size")
        for counter in ("hits", "misses", "refhits"):
            _check(getattr(self, counter) >= 0, f"negative {counter}")
        for key, value in self.cache.items():
            _check(value is not None, f"None cached for {key!r}")
            if self._weakrefable(value):
                _check(self.weakrefs.get(key) is value, f"weak entry for {key!r} is stale")
            else:
                _check(key not in self.weakrefs, f"stale weak entry for {key!r}")

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        try:
            value = self.cache[key]
        except KeyError:
            pass
        else:
            self.cache.move_to_end(key)
            self.hits += 1
            return True, value
        # None is not weak-referenceable, so it can only mean "absent or dead"
        value = self.weakrefs.get(key)
        if value is not None:
            self.refhits += 1
            self._store(key, value)
            return True, value
        return False, None

    def _store(self, key: Hashable, value: Any) -> None:
        self.cache[key] = value
        self.cache.move_to_end(key)
        try:
            self.weakrefs[key] = value
        except TypeError:
            # int, str, tuple...: only the strong queue can hold them; drop any
            # weak entry for an older value so it can't resurface after eviction
            self.weakrefs.pop(key, None)
        self._evict()

    def _evict(self) -> None:
        while len(self.cache) > self.max_size:
            self.cache.popitem(last=False)

    @staticmethod
    def _weakrefable(value: Any) -> bool:
        try:
            weakref.ref(value)
        except TypeError:
            return False
        return True


class AsyncLRUCache(LRUCache):
    """Cache whose ``miss_fn`` may return a Deferred; ``get`` returns a Deferred.

    Concurrent ``get`` calls for a key being fetched share one ``miss_fn``
    call (made with the first caller's kwargs); each of them counts as a miss.
    A failure is delivered to every waiter and is not cached. If ``put`` is
    called for a key while it is being fetched, the waiters still receive the
    fetched result but the cache keeps the value that was put (or, after
    ``put(key, None)``, stays without the key).
    """

    def __init__(self, miss_fn: Callable[..., Any], max_size: int = 50) -> None:
        super().__init__(miss_fn, max_size)
        # key -> Deferreds waiting for the fetch in flight
        self.concurrent: dict[Hashable, list[defer.Deferred[Any]]] = {}
        self._put_during_fetch: set[Hashable] = set()

    def get(self, key: Hashable, **miss_fn_kwargs: Any) -> defer.Deferred[Any]:
        found, value = self._lookup(key)
        if found:
            return defer.succeed(value)
        self.misses += 1
        waiter: defer.Deferred[Any] = defer.Deferred()
        waiters = self.concurrent.get(key)
        if waiters is not None:
            waiters.append(waiter)
            return waiter
        self.concurrent[key] = [waiter]
        fetch = defer.maybeDeferred(self.miss_fn, key, **miss_fn_kwargs)
        fetch.addBoth(self._fetched, key)
        return waiter

    def put(self, key: Hashable, value: Any) -> None:
        if key in self.concurrent:
            self._put_during_fetch.add(key)
        super().put(key, value)

    def inv(self) -> None:
        super().inv()
        for key, waiters in self.concurrent.items():
            _check(bool(waiters), f"fetch of {key!r} has no waiters")
        _check(
            self._put_during_fetch <= set(self.concurrent),
            "put recorded for a key not being fetched",
        )

    def _fetched(self, result: Any, key: Hashable) -> None:
        waiters = self.concurrent.pop(key)
        superseded = key in self._put_during_fetch
        self._put_during_fetch.discard(key)
        if isinstance(result, Failure):
            for d in waiters:
                d.errback(result)
            return
        if result is not None and not superseded:
            self._store(key, result)
        for d in waiters:
            d.callback(result)
