from __future__ import annotations

import gc
from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.util import lru


class Value:
    """A weak-referenceable cache value."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Value({self.key!r})"


class LRUCacheTests(unittest.TestCase):
    def setUp(self) -> None:
        self.fetched: list[tuple[Any, dict]] = []
        self.make = str  # non-weakrefable by default: eviction really forgets
        self.cache = lru.LRUCache(self.miss_fn, max_size=3)

    def miss_fn(self, key: Any, **kwargs: Any) -> Any:
        self.fetched.append((key, kwargs))
        return self.make(key)

    def counters(self) -> tuple[int, int, int]:
        return (self.cache.hits, self.cache.misses, self.cache.refhits)

    def test_miss_then_hit(self) -> None:
        self.assertEqual(self.cache.get("a", extra=1), "a")
        self.assertEqual(self.cache.get("a", extra=2), "a")
        self.assertEqual(self.fetched, [("a", {"extra": 1})])
        self.assertEqual(self.counters(), (1, 1, 0))
        self.cache.inv()

    def test_eviction_is_least_recently_used(self) -> None:
        for key in "abc":
            self.cache.get(key)
        self.cache.get("a")  # now b is the oldest
        self.cache.get("d")
        self.assertEqual(self.cache.keys(), ["c", "a", "d"])
        self.assertNotIn("b", self.cache)
        self.assertEqual(len(self.cache), 3)
        self.cache.get("b")
        self.assertEqual([k for k, _ in self.fetched], ["a", "b", "c", "d", "b"])
        self.assertEqual(self.cache.keys(), ["a", "d", "b"])
        self.cache.inv()

    def test_set_max_size_smaller_evicts_oldest(self) -> None:
        for key in "abc":
            self.cache.get(key)
        self.cache.set_max_size(1)
        self.assertEqual(self.cache.keys(), ["c"])
        self.cache.set_max_size(5)
        for key in "defg":
            self.cache.get(key)
        self.assertEqual(self.cache.keys(), ["c", "d", "e", "f", "g"])
        self.cache.inv()

    def test_negative_max_size_rejected(self) -> None:
        with self.assertRaises(ValueError):
            self.cache.set_max_size(-1)
        with self.assertRaises(ValueError):
            lru.LRUCache(self.miss_fn, max_size=-2)

    def test_evicted_value_held_elsewhere_is_a_refhit(self) -> None:
        self.make = Value
        held = self.cache.get("a")
        for key in "bcd":
            self.cache.get(key)
        self.assertNotIn("a", self.cache)
        self.assertIs(self.cache.get("a"), held)
        self.assertEqual(len(self.fetched), 4)
        self.assertEqual(self.counters(), (0, 4, 1))
        # promoted back into the strong queue: a plain hit next time
        self.assertEqual(self.cache.keys(), ["c", "d", "a"])
        self.cache.get("a")
        self.assertEqual(self.counters(), (1, 4, 1))
        self.cache.inv()

    def test_evicted_value_not_held_is_collected(self) -> None:
        self.make = Value
        self.cache.get("a")
        for key in "bcd":
            self.cache.get(key)
        gc.collect()
        self.assertNotIn("a", self.cache.weakrefs)
        again = self.cache.get("a")
        self.assertEqual(again.key, "a")
        self.assertEqual(len(self.fetched), 5)
        self.assertEqual(self.cache.refhits, 0)

    def test_zero_size_keeps_only_weak_references(self) -> None:
        self.make = Value
        self.cache.set_max_size(0)
        held = self.cache.get("a")
        self.assertEqual(len(self.cache), 0)
        self.assertIs(self.cache.get("a"), held)
        self.assertEqual(self.counters(), (0, 1, 1))

    def test_none_is_returned_but_not_cached(self) -> None:
        self.make = lambda key: None
        self.assertIsNone(self.cache.get("a"))
        self.assertIsNone(self.cache.get("a"))
        self.assertEqual(len(self.fetched), 2)
        self.assertEqual(len(self.cache), 0)

    def test_miss_fn_exception_propagates_and_is_not_cached(self) -> None:
        def boom(key: Any) -> Any:
            raise KeyError(key)

        cache = lru.LRUCache(boom)
        with self.assertRaises(KeyError):
            cache.get("a")
        self.assertEqual((len(cache), cache.misses), (0, 1))

    def test_put_inserts_and_replaces(self) -> None:
        self.cache.put("a", "A")
        self.assertEqual(self.cache.get("a"), "A")
        self.cache.get("b")
        self.cache.put("a", "A2")  # replacing also marks it most recent
        self.assertEqual(self.cache.keys(), ["b", "a"])
        self.assertEqual(self.cache.get("a"), "A2")
        self.assertEqual(self.fetched, [("b", {})])
        self.cache.inv()

    def test_put_unweakrefable_drops_stale_weak_entry(self) -> None:
        old = Value("old")
        self.cache.put("a", old)
        self.cache.put("a", "new")
        for key in "bcd":
            self.cache.get(key)
        # `old` is still alive but must not come back for "a"
        self.assertEqual(self.cache.get("a"), "a")
        self.assertEqual(old.key, "old")
        self.cache.inv()

    def test_put_none_forgets_key(self) -> None:
        held = Value("a")
        self.cache.put("a", held)
        self.cache.put("a", None)
        self.assertNotIn("a", self.cache)
        self.assertNotIn("a", self.cache.weakrefs)
        self.assertEqual(self.cache.get("a"), "a")
        self.cache.put("never-seen", None)
        self.cache.inv()

    def test_inv_detects_oversized_queue(self) -> None:
        self.cache.cache.update({k: k for k in "abcd"})
        with self.assertRaises(AssertionError):
            self.cache.inv()

    def test_inv_detects_stale_weak_entry(self) -> None:
        self.cache.put("a", Value("a"))
        other = Value("other")
        self.cache.weakrefs["a"] = other
        with self.assertRaises(AssertionError):
            self.cache.inv()

    def test_inv_detects_weak_entry_for_unweakrefable_value(self) -> None:
        held = Value("held")
        self.cache.put("a", "A")
        self.cache.weakrefs["a"] = held
        with self.assertRaises(AssertionError):
            self.cache.inv()

    def test_inv_detects_cached_none(self) -> None:
        self.cache.cache["a"] = None
        with self.assertRaises(AssertionError):
            self.cache.inv()

    def test_inv_detects_negative_counter(self) -> None:
        self.cache.hits = -1
        with self.assertRaises(AssertionError):
            self.cache.inv()


class AsyncLRUCacheTests(unittest.TestCase):
    def setUp(self) -> None:
        self.fetches: list[tuple[Any, dict, defer.Deferred]] = []
        self.cache = lru.AsyncLRUCache(self.miss_fn, max_size=3)

    def miss_fn(self, key: Any, **kwargs: Any) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.fetches.append((key, kwargs, d))
        return d

    def test_miss_then_hit(self) -> None:
        d = self.cache.get("a")
        self.assertNoResult(d)
        self.fetches[0][2].callback("A")
        self.assertEqual(self.successResultOf(d), "A")
        self.assertEqual(self.successResultOf(self.cache.get("a")), "A")
        self.assertEqual(len(self.fetches), 1)
        self.assertEqual((self.cache.hits, self.cache.misses), (1, 1))
        self.cache.inv()

    def test_concurrent_misses_share_one_fetch(self) -> None:
        waiters = [self.cache.get("a", n=n) for n in range(3)]
        self.cache.inv()
        self.assertEqual(len(self.fetches), 1)
        self.assertEqual(self.fetches[0][1], {"n": 0})  # first caller's kwargs
        for d in waiters:
            self.assertNoResult(d)
        value = Value("a")
        self.fetches[0][2].callback(value)
        for d in waiters:
            self.assertIs(self.successResultOf(d), value)
        self.assertEqual(self.cache.misses, 3)
        self.assertEqual(self.cache.concurrent, {})
        self.cache.inv()

    def test_failure_reaches_every_waiter_and_is_not_cached(self) -> None:
        waiters = [self.cache.get("a") for _ in range(2)]
        self.fetches[0][2].errback(RuntimeError("db down"))
        for d in waiters:
            self.failureResultOf(d, RuntimeError)
        retry = self.cache.get("a")
        self.assertEqual(len(self.fetches), 2)
        self.fetches[1][2].callback("A")
        self.assertEqual(self.successResultOf(retry), "A")
        self.cache.inv()

    def test_synchronous_miss_fn_results(self) -> None:
        def sync_miss(key: Any) -> Any:
            if key == "bad":
                raise ValueError(key)
            return key.upper()

        cache = lru.AsyncLRUCache(sync_miss)
        self.assertEqual(self.successResultOf(cache.get("a")), "A")
        self.failureResultOf(cache.get("bad"), ValueError)
        self.assertEqual(cache.keys(), ["a"])
        self.assertEqual(cache.concurrent, {})

    def test_none_is_delivered_but_not_cached(self) -> None:
        d = self.cache.get("a")
        self.fetches[0][2].callback(None)
        self.assertIsNone(self.successResultOf(d))
        self.cache.get("a")
        self.assertEqual(len(self.fetches), 2)

    def test_put_during_fetch_wins(self) -> None:
        d = self.cache.get("a")
        self.cache.put("a", "put")
        self.cache.inv()
        self.fetches[0][2].callback("fetched")
        self.assertEqual(self.successResultOf(d), "fetched")
        self.assertEqual(self.successResultOf(self.cache.get("a")), "put")
        self.assertEqual(len(self.fetches), 1)
        self.cache.inv()

    def test_put_none_during_fetch_leaves_key_uncached(self) -> None:
        d = self.cache.get("a")
        self.cache.put("a", None)
        self.fetches[0][2].callback("fetched")
        self.assertEqual(self.successResultOf(d), "fetched")
        self.assertNotIn("a", self.cache)
        self.cache.get("a")
        self.assertEqual(len(self.fetches), 2)

    def test_weak_refhit(self) -> None:
        held = Value("a")
        self.cache.put("a", held)
        self.cache.set_max_size(0)
        self.assertIs(self.successResultOf(self.cache.get("a")), held)
        self.assertEqual(self.cache.refhits, 1)
        self.assertEqual(self.fetches, [])

    def test_inv_detects_fetch_without_waiters(self) -> None:
        self.cache.concurrent["a"] = []
        with self.assertRaises(AssertionError):
            self.cache.inv()

    def test_inv_detects_put_record_without_fetch(self) -> None:
        self.cache._put_during_fetch.add("a")
        with self.assertRaises(AssertionError):
            self.cache.inv()
