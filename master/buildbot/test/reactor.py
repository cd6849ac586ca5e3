"""A deterministic reactor for unit tests: time moves only when a test says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.python import threadpool


class _NoThreadPool(threadpool.ThreadPool):
    """Runs every 'threaded' call synchronously: a clock reactor has no threads."""

    def callInThreadWithCallback(self, onResult, func, *args, **kw):
        try:
            result = func(*args, **kw)
        except BaseException:  # the pool reports every failure through onResult
            from twisted.python import failure

            onResult(False, failure.Failure())
        else:
            onResult(True, result)


class TestReactor(task.Clock):
    """A `task.Clock` with the few reactor methods the master calls besides time.

    `callWhenRunning` and `callFromThread` run on the clock (the latter after a
    zero delay, like the real reactor's next iteration); `stop` records that it
    was asked; system event triggers are recorded and fired by `fireSystemEvent`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.running = True
        self.stop_called = False
        self._triggers: dict[tuple[str, str], list[tuple[Callable, tuple, dict]]] = {}
        self._threadpool = _NoThreadPool()

    def callWhenRunning(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        fn(*args, **kwargs)

    def callFromThread(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        self.callLater(0, fn, *args, **kwargs)

    def getThreadPool(self) -> threadpool.ThreadPool:
        return self._threadpool

    def callInThread(self, fn: Callable, *args: Any, **kwargs: Any) -> None:
        fn(*args, **kwargs)

    def stop(self) -> None:
        self.stop_called = True

    def addSystemEventTrigger(self, phase, eventType, fn, *args, **kwargs):
        self._triggers.setdefault((phase, eventType), []).append((fn, args, kwargs))
        return (phase, eventType, fn)

    def removeSystemEventTrigger(self, triggerID) -> None:
        phase, eventType, fn = triggerID
        entries = self._triggers.get((phase, eventType), [])
        self._triggers[(phase, eventType)] = [e for e in entries if e[0] is not fn]

    def fireSystemEvent(self, eventType: str) -> defer.Deferred:
        results = []
        for phase in ("before", "during", "after"):
            for fn, args, kwargs in self._triggers.pop((phase, eventType), []):
                results.append(defer.maybeDeferred(fn, *args, **kwargs))
        return defer.gatherResults(results, consumeErrors=True)


class TestReactorMixin:
    """Gives a trial test case `self.reactor`, a fresh `TestReactor`.

    The eventual-send queue is pointed at it for the duration of the test, so
    `eventually` calls run when the test advances the clock or flushes the queue.
    """

    def setup_test_reactor(self) -> None:
        from buildbot.util import eventual

        self.reactor = TestReactor()
        eventual._setReactor(self.reactor)
        self.addCleanup(eventual._setReactor, None)  # type: ignore[attr-defined]
