"""The fake data API: the real reads, and update methods that record their calls.

    master.data = FakeDataConnector(master, testcase)
    await master.data.updates.addBuild(builderid=5, buildrequestid=9, workerid=1)
    master.data.updates.assertCalled("addBuild", builderid=5)

Reads go through the real endpoints over whatever ``master.db`` is (usually
the fake DB), so they behave as in production. Each update method is recorded
(`calls`, with its arguments bound by name) and then run for real, so that
what a test reads back reflects it; its MQ events go to ``master.mq`` (the
fake MQ is installed if the master has none). A test replaces an update's
behaviour with `FakeUpdates.override(name, fn)`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from buildbot.data.connector import DataConnector


class FakeUpdates:
    """``master.data.updates`` that records every call before running it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._real: dict[str, Callable[..., Any]] = {}
        self._overrides: dict[str, Callable[..., Any]] = {}

    def _add(self, name: str, method: Callable[..., Any]) -> None:
        self._real[name] = method
        signature = inspect.signature(method)

        def recorded(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            self.calls.append((name, dict(bound.arguments)))
            fn = self._overrides.get(name, method)
            return defer.maybeDeferred(fn, *args, **kwargs)

        recorded.__name__ = name
        setattr(self, name, recorded)

    def override(self, name: str, fn: Callable[..., Any]) -> None:
        """Run `fn` (same arguments; a value or a Deferred) instead of the real update."""
        if name not in self._real:
            raise AttributeError(f"no update method {name!r}")
        self._overrides[name] = fn

    def callsTo(self, name: str) -> list[dict[str, Any]]:
        return [args for n, args in self.calls if n == name]

    def assertCalled(self, method: str, /, **expected: Any) -> None:
        """Some call to `method` had (at least) these arguments."""
        for args in self.callsTo(method):
            if all(args.get(k) == v for k, v in expected.items()):
                return
        raise AssertionError(f"no call {method}({expected!r}) in {self.callsTo(method)!r}")

    def assertNotCalled(self, name: str) -> None:
        if self.callsTo(name):
            raise AssertionError(f"{name} was called: {self.callsTo(name)!r}")


class FakeDataConnector(DataConnector):
    """A DataConnector whose `updates` is a FakeUpdates."""

    def __init__(self, master: Any = None, testcase: Any = None) -> None:
        super().__init__()
        self.updates = FakeUpdates()
        self.testcase = testcase
        if master is not None:
            self.master = master
            if getattr(master, "mq", None) is None:
                from buildbot.test.fake.fakemq import FakeMQConnector

                master.mq = FakeMQConnector(testcase)
            self.setup()

    def _add_update(self, name: str, method: Any) -> None:
        self.updates._add(name, method)
