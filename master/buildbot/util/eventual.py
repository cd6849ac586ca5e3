"""Eventual-send: run a callable on a later reactor turn, in FIFO order.

Calling code never re-enters itself through ``eventually``: the queued call
always runs after the current stack has unwound. ``flushEventualQueue`` lets
tests (and shutdown code) wait until nothing is left in the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.python import log


class _SimpleCallQueue:
    """The single queue behind `eventually`.

    A reactor turn runs the calls that were queued before it started; calls
    queued meanwhile wait for the next turn. `flush` instead drains
    synchronously until the queue is empty, so it does not depend on anybody
    advancing the reactor (a `task.Clock` in a test may never be advanced).
    """

    def __init__(self) -> None:
        self._reactor: Any = None  # None: the global twisted reactor
        self._events: deque[tuple[Callable[..., Any], tuple, dict]] = deque()
        self._flush_waiters: deque[defer.Deferred[None]] = deque()
        self._timer: IDelayedCall | None = None
        self._running = False

    def _get_reactor(self) -> Any:
        if self._reactor is None:
            from twisted.internet import reactor

            return reactor
        return self._reactor

    def set_reactor(self, reactor: Any) -> None:
        # Anything still queued belongs to the world that used the old reactor
        # (typically a finished test with a clock nobody advanced): running it
        # later against another reactor would leak into unrelated code.
        if self._events:
            log.msg(f"eventual: discarding {len(self._events)} unrun call(s) on reactor change")
        self._events.clear()
        self._cancel_timer()
        self._reactor = reactor

    def append(self, cb: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self._events.append((cb, args, kwargs))
        self._ensure_timer()

    def flush(self) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        self._flush_waiters.append(d)
        if not self._running:
            # Re-entrant flushes (from inside a queued call or a flush
            # callback) just wait: the loop already running will fire them.
            self._cancel_timer()
            self._process(limit=None)
        return d

    def _turn(self) -> None:
        self._timer = None
        self._process(limit=len(self._events))

    def _process(self, limit: int | None) -> None:
        """Run queued calls; with a limit, at most that many unless someone is
        waiting for a flush, in which case everything is drained."""
        self._running = True
        try:
            while True:
                if self._events and (self._flush_waiters or limit is None or limit > 0):
                    if limit is not None:
                        limit -= 1
                    cb, args, kwargs = self._events.popleft()
                    self._invoke(cb, args, kwargs)
                elif self._flush_waiters and not self._events:
                    self._flush_waiters.popleft().callback(None)
                else:
                    break
        finally:
            self._running = False
            self._ensure_timer()

    @staticmethod
    def _invoke(cb: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            result = cb(*args, **kwargs)
        except Exception:
            log.err(None, "while running an eventual call")
            return
        if isinstance(result, defer.Deferred):
            result.addErrback(log.err, "in the Deferred returned by an eventual call")

    def _ensure_timer(self) -> None:
        if not self._events or self._running:
            return
        # A trial janitor may have cancelled our call behind our back.
        if self._timer is not None and self._timer.active():
            return
        self._timer = self._get_reactor().callLater(0, self._turn)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


_theSimpleQueue = _SimpleCallQueue()


def _setReactor(r: Any = None) -> None:
    """Make the queue schedule its turns on ``r`` (None: the global reactor).

    Calls queued but not yet run are discarded.
    """
    _theSimpleQueue.set_reactor(r)


def eventually(cb: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call ``cb(*args, **kwargs)`` on a later reactor turn.

    Calls run in the order they were queued. An exception raised by ``cb``,
    or a failure of a Deferred it returns, is logged and does not affect the
    calls queued after it.
    """
    _theSimpleQueue.append(cb, args, kwargs)


def fireEventually(value: Any = None) -> defer.Deferred[Any]:
    """Return a Deferred that fires with ``value`` on a later reactor turn."""
    d: defer.Deferred[Any] = defer.Deferred()
    eventually(d.callback, value)
    return d


def flushEventualQueue(_ignored: Any = None) -> defer.Deferred[None]:
    """Run everything queued (including calls queued by queued calls) and
    return a Deferred that fires with None once the queue is empty.

    Usable as a callback: ``d.addCallback(flushEventualQueue)``.
    """
    return _theSimpleQueue.flush()
