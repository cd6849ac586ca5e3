"""What every message queue back end shares: subscriptions, matching and delivery.

A routing key is a tuple of str; a filter is a tuple of the same length whose
elements are str (must be equal) or None (matches anything). On the wire (/ws,
/sse, WAMP) the wildcard is spelled '*': `filter_from_path` and `path_from_key`
convert at those edges; inside the master a '*' in a filter is a plain string.

Delivery never re-enters the producer: `produce` only queues the message for
each matching subscription, and each subscription (a `QueueRef`) hands its
messages to its callback later, from the eventual-send queue, one at a time and
in production order. A callback returning a Deferred (or a coroutine) gets the
next message only once that has fired. A callback that raises or fails is
logged and delivery goes on.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.util import eventual, service

RoutingKey = tuple[str, ...]
Filter = tuple[str | None, ...]
Callback = Callable[[RoutingKey, Any], Any]


def couldMatch(pattern: Sequence[str | None], filter: Sequence[str | None]) -> bool:
    """Could a routing key fitting `pattern` (None: a part not known yet) match `filter`?
    Lengths must be equal; a None on either side matches any element."""
    if len(pattern) != len(filter):
        return False
    return all(p is None or f is None or p == f for p, f in zip(pattern, filter, strict=True))


def matchTuple(routingKey: Sequence[str], filter: Sequence[str | None]) -> bool:
    """Does `routingKey` (all parts known) match `filter`?"""
    return couldMatch(routingKey, filter)


def filter_from_path(path: str) -> Filter:
    """'builds/*/finished' -> ('builds', None, 'finished'): the wire form of a filter."""
    return tuple(None if part == "*" else part for part in path.split("/"))


def path_from_key(routingKey: Sequence[str | None]) -> str:
    """('builds', '6', 'new') -> 'builds/6/new'; a None (wildcard) becomes '*'."""
    return "/".join("*" if part is None else part for part in routingKey)


def check_routing_key(routingKey: Any) -> None:
    """Raise ValueError unless `routingKey` is a non-empty tuple of non-empty str
    without '/' (which would not survive the wire form)."""
    if not isinstance(routingKey, tuple) or not routingKey:
        raise ValueError(f"a routing key must be a non-empty tuple, not {routingKey!r}")
    for part in routingKey:
        if not isinstance(part, str) or not part or "/" in part:
            raise ValueError(
                f"routing key {routingKey!r}: each element must be a non-empty str "
                f"without '/' (numbers formatted with str()), not {part!r}"
            )


def check_filter(filter: Any) -> None:
    """Raise ValueError unless `filter` is a non-empty tuple of str or None."""
    if not isinstance(filter, tuple) or not filter:
        raise ValueError(f"a filter must be a non-empty tuple, not {filter!r}")
    for part in filter:
        if part is not None and not isinstance(part, str):
            raise ValueError(f"filter {filter!r}: elements must be str or None, not {part!r}")


class QueueRef:
    """One subscription, as returned by `startConsuming`; `stopConsuming()` ends it."""

    def __init__(self, mq: MQBase, callback: Callback, filter: Sequence[str | None]) -> None:
        self.mq = mq
        self.callback: Callback | None = callback
        self.filter: Filter = tuple(filter)
        self._queue: deque[tuple[RoutingKey, Any]] = deque()
        self._scheduled = False  # a delivery turn is waiting in the eventual queue
        self._running = False  # a delivery turn is on the stack
        self._busy = False  # a callback's Deferred has not fired yet

    @property
    def active(self) -> bool:
        return self.callback is not None

    def stopConsuming(self) -> None:
        """Deliver nothing more, not even messages already queued. A callback
        running now (or its pending Deferred) is not interrupted. Safe to call
        twice and from inside the callback."""
        self.callback = None
        self._queue.clear()
        self.mq._forget(self)

    def _enqueue(self, routingKey: RoutingKey, data: Any) -> None:
        self._queue.append((routingKey, data))
        self._schedule()

    def _schedule(self) -> None:
        if self._scheduled or self._running or self._busy:
            return
        if self.callback is None or not self._queue:
            return
        self._scheduled = True
        eventual.eventually(self._run)

    def _run(self) -> None:
        self._scheduled = False
        self._running = True
        try:
            # At most what was queued when the turn began: a consumer that feeds
            # itself must not keep the others waiting.
            for _ in range(len(self._queue)):
                if self.callback is None or self._busy or not self._queue:
                    break
                routingKey, data = self._queue.popleft()
                self._invoke(self.callback, routingKey, data)
        finally:
            self._running = False
        self._schedule()

    def _invoke(self, callback: Callback, routingKey: RoutingKey, data: Any) -> None:
        why = f"MQ consumer {callback!r} failed on {path_from_key(routingKey)!r}"
        try:
            result = callback(routingKey, data)
        except Exception:
            log.err(None, why)
            return
        if inspect.iscoroutine(result):
            result = defer.ensureDeferred(result)
        if not isinstance(result, defer.Deferred):
            return
        self._busy = True
        self.mq._busy_consumers.add(self)
        result.addErrback(log.err, why)
        result.addBoth(self._done)

    def _done(self, _: Any) -> None:
        # may run inside whoever fired the callback's Deferred: only schedule here
        self._busy = False
        self.mq._consumer_idle(self)
        self._schedule()


class MQBase(service.AsyncService):
    """The part of an MQ back end that is about local consumers.

    A back end implements `produce` and `startConsuming`; it hands each message
    meant for this master to `_deliver`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._consumers: list[QueueRef] = []
        self._busy_consumers: set[QueueRef] = set()
        self._idle_waiters: list[defer.Deferred[None]] = []

    def produce(self, routingKey: RoutingKey, data: Any) -> None:
        raise NotImplementedError

    def startConsuming(
        self, callback: Callback, filter: Sequence[str | None], persistent_name: str | None = None
    ) -> defer.Deferred[QueueRef]:
        raise NotImplementedError

    def wantsAnyOf(self, patterns: Sequence[Sequence[str | None]]) -> bool:
        """Could a message with a routing key fitting one of `patterns` (None where a
        part is not known yet) reach anyone?  Producers use it to skip building
        messages nobody receives.  This answer is about local subscriptions; a back
        end that sends messages to other masters must answer True."""
        return any(couldMatch(p, q.filter) for q in self._consumers for p in patterns)

    def _add_consumer(self, qref: QueueRef) -> QueueRef:
        self._consumers.append(qref)
        return qref

    def _forget(self, qref: QueueRef) -> None:
        self._consumers = [c for c in self._consumers if c is not qref]

    def _deliver(self, routingKey: RoutingKey, data: Any) -> None:
        for qref in self._consumers:
            if matchTuple(routingKey, qref.filter):
                qref._enqueue(routingKey, data)

    def _consumer_idle(self, qref: QueueRef) -> None:
        self._busy_consumers.discard(qref)
        if not self._busy_consumers:
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    def _wait_idle(self) -> defer.Deferred[None]:
        """Fires when no callback's Deferred is pending."""
        if not self._busy_consumers:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._idle_waiters.append(d)
        return d

    def stopService(self) -> defer.Deferred[None]:
        """Stops once the callbacks in progress are done; queued messages stay queued."""
        d = super().stopService()
        d.addCallback(lambda _: self._wait_idle())
        return d

    def waitUntilEvent(
        self, filter: Sequence[str | None], check_callback: Callable[[], Any]
    ) -> defer.Deferred[tuple[RoutingKey, Any] | None]:
        """Wait for the first message matching `filter`.

        The subscription is made first, then `check_callback()` is called (it
        may return a Deferred or be a coroutine function): a true result means
        the awaited event already happened, and the Deferred fires with None at
        once. Otherwise it fires with (routingKey, data) of the first matching
        message produced after the subscription was made, including those
        produced while `check_callback` ran. The subscription is always ended
        before firing, also when `check_callback` fails (the failure is passed
        on) or the Deferred is cancelled.
        """
        return defer.ensureDeferred(self._wait_until_event(filter, check_callback))

    async def _wait_until_event(
        self, filter: Sequence[str | None], check_callback: Callable[[], Any]
    ) -> tuple[RoutingKey, Any] | None:
        event: defer.Deferred[tuple[RoutingKey, Any]] = defer.Deferred()

        def on_message(routingKey: RoutingKey, data: Any) -> None:
            if not event.called:
                event.callback((routingKey, data))

        qref = await self.startConsuming(on_message, filter)
        try:
            if await defer.maybeDeferred(check_callback):
                return None
            return await event
        finally:
            qref.stopConsuming()
