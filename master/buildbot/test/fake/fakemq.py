"""A message queue for unit tests: the real in-process delivery, plus a record.

`FakeMQConnector` stands where `master.mq` (the `MQConnector`) stands. It
delivers exactly like `SimpleMQ` (later, through the eventual queue: flush it
with `buildbot.util.eventual.flushEventualQueue`), and in addition:

* records every produced message in `productions`, checked by `assertProductions`
  (so `wantsAnyOf` is always true: producers never skip a message);
* with `verifyMessages` (the default), fails the test on a malformed routing key,
  filter or body;
* `callConsumer` calls the matching consumers at once, to feed code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from buildbot.mq import base, simple


class FakeMQConnector(simple.SimpleMQ):
    name = "mq"  # type: ignore[assignment]
    verifyMessages = True

    def __init__(self, testcase: Any = None) -> None:
        super().__init__()
        self.testcase = testcase
        self.productions: list[tuple[base.RoutingKey, Any]] = []

    def _fail(self, msg: str) -> None:
        if self.testcase is not None:
            self.testcase.fail(msg)
        raise AssertionError(msg)

    def setup(self) -> defer.Deferred[None]:
        return defer.succeed(None)

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.succeed(None)

    def wantsAnyOf(self, patterns: Any) -> bool:
        return True  # every message is recorded in `productions`

    def produce(self, routingKey: base.RoutingKey, data: Any) -> None:
        if self.verifyMessages:
            self._verify_message(routingKey, data)
        self.productions.append((routingKey, data))
        super().produce(routingKey, data)

    def _verify_message(self, routingKey: Any, data: Any) -> None:
        try:
            base.check_routing_key(routingKey)
        except ValueError as e:
            self._fail(str(e))
        # None is allowed: the body of buildrequests/<id>/cancel is null on the wire
        if data is not None and not isinstance(data, dict):
            self._fail(f"message {routingKey!r}: the body must be a dict, not {data!r}")
        if isinstance(data, dict) and not all(isinstance(k, str) for k in data):
            self._fail(f"message {routingKey!r}: body keys must be str: {list(data)!r}")

    def startConsuming(
        self,
        callback: base.Callback,
        filter: Sequence[str | None],
        persistent_name: str | None = None,
    ) -> defer.Deferred[base.QueueRef]:
        if self.verifyMessages:
            try:
                base.check_filter(filter)
            except ValueError as e:
                self._fail(str(e))
        return super().startConsuming(callback, filter, persistent_name=persistent_name)

    def callConsumer(self, routingKey: base.RoutingKey, data: Any) -> defer.Deferred[None]:
        """Call every active consumer matching `routingKey` now, bypassing the queue
        (nothing is recorded); fails the test if none matches. Fires when all
        callbacks are done."""
        callbacks = [
            q.callback
            for q in self._consumers
            if q.callback is not None and base.matchTuple(routingKey, q.filter)
        ]
        if not callbacks:
            self._fail(f"no consumer for {routingKey!r}")
        results = [defer.maybeDeferred(cb, routingKey, data) for cb in callbacks]
        d = defer.gatherResults(results, consumeErrors=True)
        d.addCallback(lambda _: None)
        return d

    def clearProductions(self) -> None:
        self.productions = []

    def assertProductions(self, expected: list[tuple[Any, Any]], orderMatters: bool = True) -> None:
        """Compare the productions so far with `expected`, then forget them."""
        got, self.productions = self.productions, []
        if orderMatters:
            if got != list(expected):
                self._fail(f"productions differ:\n got: {got!r}\nwant: {list(expected)!r}")
            return
        remaining = list(got)
        for item in expected:
            if item not in remaining:
                self._fail(f"missing production {item!r}; got {got!r}")
            remaining.remove(item)
        if remaining:
            self._fail(f"unexpected productions {remaining!r}")
