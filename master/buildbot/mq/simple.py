"""The in-process message queue (``c['mq'] = {'type': 'simple'}``): one master only.

Persistent consumers: a subscription made with `persistent_name` keeps
collecting matching messages after `stopConsuming()`; the next `startConsuming`
with the same name (and the same filter) first receives what was collected, in
order. The backlog lives in memory only (it does not survive a restart) and is
bounded by `max_backlog`, the oldest messages being dropped (and logged) beyond.
"""

from __future__ import annotations

import pprint
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.mq import base
from buildbot.util import service


class PersistentQueueRef(base.QueueRef):
    """A subscription whose messages are kept while nobody consumes them."""

    def __init__(
        self, mq: SimpleMQ, callback: base.Callback, filter: Sequence[str | None], name: str
    ) -> None:
        super().__init__(mq, callback, filter)
        self.persistent_name = name
        self._dropped = 0
        # the handle that took over from this one while our last callback was pending
        self._successor: PersistentQueueRef | None = None

    def stopConsuming(self) -> None:
        # stays subscribed with no callback: messages pile up for the next consumer
        self.callback = None

    def _enqueue(self, routingKey: base.RoutingKey, data: Any) -> None:
        limit = self.mq.max_backlog  # type: ignore[attr-defined]
        if self.callback is None and len(self._queue) >= limit:
            self._queue.popleft()
            if self._dropped == 0:
                log.msg(
                    f"MQ: persistent consumer {self.persistent_name!r} is stopped and has "
                    f"{limit} messages waiting; dropping the oldest"
                )
            self._dropped += 1
        super()._enqueue(routingKey, data)

    def _done(self, result: Any) -> None:
        super()._done(result)
        successor, self._successor = self._successor, None
        if successor is not None:
            successor._busy = False
            successor._schedule()


class SimpleMQ(service.ReconfigurableServiceMixin, base.MQBase):
    max_backlog = 10_000

    def __init__(self) -> None:
        super().__init__()
        self.debug = False
        self._persistent: dict[str, PersistentQueueRef] = {}

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        self.debug = bool(new_config.mq.get("debug", False))
        return defer.succeed(None)

    def wantsAnyOf(self, patterns: Any) -> bool:
        # in debug mode every message is logged
        return self.debug or super().wantsAnyOf(patterns)

    def produce(self, routingKey: base.RoutingKey, data: Any) -> None:
        if self.debug:
            log.msg(f"MSG: {base.path_from_key(routingKey)}\n{pprint.pformat(data)}")
        self._deliver(routingKey, data)

    def startConsuming(
        self,
        callback: base.Callback,
        filter: Sequence[str | None],
        persistent_name: str | None = None,
    ) -> defer.Deferred[base.QueueRef]:
        if persistent_name is None:
            return defer.succeed(self._add_consumer(base.QueueRef(self, callback, filter)))
        try:
            return defer.succeed(self._start_persistent(callback, filter, persistent_name))
        except ValueError:
            return defer.fail()

    def _start_persistent(
        self, callback: base.Callback, filter: Sequence[str | None], name: str
    ) -> base.QueueRef:
        qref = PersistentQueueRef(self, callback, filter, name)
        parked = self._persistent.get(name)
        if parked is None:
            self._persistent[name] = self._add_consumer(qref)  # type: ignore[assignment]
            return qref
        if parked.active:
            raise ValueError(f"persistent consumer {name!r} is already consuming")
        if parked.filter != qref.filter:
            raise ValueError(
                f"persistent consumer {name!r} was started with filter {parked.filter!r}, "
                f"not {qref.filter!r}"
            )
        if parked._dropped:
            log.msg(f"MQ: persistent consumer {name!r} lost {parked._dropped} messages")
        # the new handle takes over the backlog and the place of the old one
        qref._queue = parked._queue
        if parked._busy:
            # keep one message at a time across the hand-over
            qref._busy = True
            parked._successor = qref
        self._consumers = [qref if c is parked else c for c in self._consumers]
        self._persistent[name] = qref
        qref._schedule()
        return qref
