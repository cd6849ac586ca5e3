"""Triggerable: a scheduler fired only by `steps.Trigger`.

`trigger()` adds a buildset and gives the caller two Deferreds: one firing with
(bsid, {builderid: brid}) once the buildset exists, one firing with
(results, {builderid: brid}) once it completes. Completion is learnt from the
`('buildsets', bsid, 'complete')` events; a single subscription serves every
waiting trigger and lasts only while someone waits.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import failure
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.data.properties import as_property_dict
from buildbot.schedulers.base import BaseScheduler, DisabledSchedulerError

_COMPLETE = ("buildsets", None, "complete")


@implementer(interfaces.ITriggerableScheduler)
class Triggerable(BaseScheduler):
    """`Triggerable(name, builderNames, properties=None, reason=None, priority=None,
    codebases=None)`."""

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        self.reason: str | None = None
        # bsid -> (Deferred of (results, brids), brids)
        self._waiters: dict[int, tuple[defer.Deferred[Any], dict[int, int]]] = {}
        self._complete_consumer: Any = None
        self._consumer_lock = defer.DeferredLock()
        super().__init__(name, builderNames, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        reason: str | None = None,
        priority: Any = None,
        codebases: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames, properties=properties, codebases=codebases, priority=priority
        )
        if reason is not None and not isinstance(reason, str):
            config.error(f"Triggerable {self.name!r}: reason must be a string")

    def applyConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None,
        reason: str | None,
        priority: Any,
        codebases: Any,
    ) -> None:
        super().applyConfig(builderNames, properties, codebases, priority)
        self.reason = reason if isinstance(reason, str) else None

    # --- triggering -------------------------------------------------------------------

    def trigger(
        self,
        waited_for: bool,
        sourcestamps: list[dict[str, Any]] | None = None,
        set_props: Any = None,
        parent_buildid: int | None = None,
        parent_relationship: str | None = None,
    ) -> tuple[defer.Deferred[tuple[int, dict[int, int]]], defer.Deferred[Any]]:
        """Add a buildset; returns (Deferred of (bsid, brids), Deferred of
        (results, brids) firing when the buildset completes)."""
        results: defer.Deferred[Any] = defer.Deferred(self._forget)
        ids = defer.ensureDeferred(
            self._trigger(
                results, waited_for, sourcestamps, set_props, parent_buildid, parent_relationship
            )
        )

        def pass_on(f: failure.Failure) -> failure.Failure:
            if not results.called:
                results.errback(f)
            return f

        ids.addErrback(pass_on)
        return ids, results

    def _reason(self, props: dict[str, tuple[Any, str]]) -> str:
        given = props.get("reason", (None, ""))[0]
        if isinstance(given, str):
            return given
        if self.reason is not None:
            return self.reason
        return f"The Triggerable scheduler named '{self.name}' triggered this build"

    async def _trigger(
        self,
        results: defer.Deferred[Any],
        waited_for: bool,
        sourcestamps: list[dict[str, Any]] | None,
        set_props: Any,
        parent_buildid: int | None,
        parent_relationship: str | None,
    ) -> tuple[int, dict[int, int]]:
        if not self.enabled:
            raise DisabledSchedulerError(f"scheduler {self.name!r} is disabled")
        props = as_property_dict(set_props or {})
        bsid, brids = await self.addBuildsetForSourceStampsWithDefaults(
            self._reason(props),
            sourcestamps=sourcestamps or [],
            waited_for=waited_for,
            properties=props,
            parent_buildid=parent_buildid,
            parent_relationship=parent_relationship,
        )
        if results.called:  # cancelled while the buildset was being added
            return bsid, brids
        self._waiters[bsid] = (results, brids)
        await self._consumer_lock.run(self._start_consumer)
        # the buildset may have completed before the subscription (no builders, say)
        bs = await self.master.data.get(("buildsets", bsid))
        if bs is not None and bs["complete"]:
            self._fire(bsid, bs["results"])
        self._maybe_stop_consumer()
        return bsid, brids

    def _start_consumer(self) -> defer.Deferred[None]:
        if self._complete_consumer is not None:
            return defer.succeed(None)
        d = self.master.mq.startConsuming(self._buildset_complete, _COMPLETE)

        def started(consumer: Any) -> None:
            self._complete_consumer = consumer

        return d.addCallback(started)

    def _buildset_complete(self, key: tuple[str, ...], msg: dict[str, Any]) -> None:
        self._fire(msg["bsid"], msg["results"])
        self._maybe_stop_consumer()

    def _fire(self, bsid: int, results: int | None) -> None:
        waiter = self._waiters.pop(bsid, None)
        if waiter is not None:
            d, brids = waiter
            d.callback((results, brids))

    def _forget(self, d: defer.Deferred[Any]) -> None:
        """The canceller of a results Deferred: nobody waits for that buildset now."""
        for bsid, (waiting, _) in list(self._waiters.items()):
            if waiting is d:
                del self._waiters[bsid]
        self._maybe_stop_consumer()

    def _maybe_stop_consumer(self) -> None:
        if self._waiters or self._complete_consumer is None:
            return
        consumer, self._complete_consumer = self._complete_consumer, None
        consumer.stopConsuming()

    def _abandon_waiters(self) -> None:
        waiters, self._waiters = self._waiters, {}
        for d, _ in waiters.values():
            d.errback(RuntimeError("Triggerable scheduler stopped before build was complete"))
        self._maybe_stop_consumer()

    # --- life cycle -------------------------------------------------------------------

    async def deactivate(self) -> None:  # type: ignore[override]
        self._abandon_waiters()
        await super().deactivate()

    async def _stop(self) -> None:
        try:
            await super()._stop()
        finally:
            # a trigger may also wait on a master where the scheduler is not active
            self._abandon_waiters()
