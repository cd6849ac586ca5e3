"""`Dependent`: builds what another scheduler built, once that succeeded.

It follows the buildsets its upstream scheduler submits (from their ``new``
events, which name the scheduler) and, when one completes with SUCCESS or
WARNINGS, submits a buildset with the same sourcestamps (reason
``downstream``). The ids of the buildsets it waits for are kept in its state,
so that a restart loses none: on activation it looks at each again, in case it
completed meanwhile.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot import config, interfaces
from buildbot.process.results import SUCCESS, WARNINGS
from buildbot.schedulers.base import BaseScheduler
from buildbot.util.state import StateMixin

#: the state key of the upstream buildsets still waited for
UPSTREAM_BSIDS = "upstream_bsids"


class Dependent(BaseScheduler, StateMixin):
    """`Dependent(name, upstream, builderNames, properties=None, codebases=None,
    priority=None)`; `upstream` is another scheduler of the configuration."""

    def __init__(self, name: str, upstream: Any, builderNames: Any, **kwargs: Any) -> None:
        self.upstream_name: str | None = None
        self._consumers: list[Any] = []
        # the two event handlers share the state: one at a time
        self._lock = defer.DeferredLock()
        self._working = False
        super().__init__(name, upstream, builderNames, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        upstream: Any,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
    ) -> None:
        if not interfaces.IScheduler.providedBy(upstream):
            config.error(f"Dependent {self.name!r}: upstream must be another Scheduler instance")
        super().checkConfig(
            builderNames, properties=properties, codebases=codebases, priority=priority
        )

    def applyConfig(  # type: ignore[override]
        self,
        upstream: Any,
        builderNames: Any,
        properties: dict[str, Any] | None,
        codebases: Any,
        priority: Any,
    ) -> None:
        super().applyConfig(builderNames, properties, codebases, priority)
        self.upstream_name = getattr(upstream, "name", None)

    # --- life cycle -----------------------------------------------------------

    async def activate(self) -> None:  # type: ignore[override]
        await super().activate()
        if not self.enabled:
            return
        self._working = True
        try:
            mq = self.master.mq
            self._consumers.append(
                await mq.startConsuming(self._buildset_new, ("buildsets", None, "new"))
            )
            self._consumers.append(
                await mq.startConsuming(self._buildset_complete, ("buildsets", None, "complete"))
            )
            # buildsets that completed while no master ran us
            await self._lock.run(lambda: defer.ensureDeferred(self._check_waited()))
        except BaseException:
            await self.deactivate()
            raise

    async def deactivate(self) -> None:  # type: ignore[override]
        self._working = False
        consumers, self._consumers = self._consumers, []
        for consumer in consumers:
            consumer.stopConsuming()
        await self._lock.run(lambda: None)
        await super().deactivate()

    # --- upstream buildsets -----------------------------------------------------

    def _buildset_new(self, key: tuple[str, ...], msg: dict[str, Any]) -> Any:
        if msg.get("scheduler") != self.upstream_name:
            return None
        return self._run(self._track, msg["bsid"])

    def _buildset_complete(self, key: tuple[str, ...], msg: dict[str, Any]) -> Any:
        return self._run(self._completed, msg["bsid"], msg.get("results"), msg)

    def _run(self, fn: Any, *args: Any) -> defer.Deferred[None]:
        d = self._lock.run(lambda: defer.ensureDeferred(fn(*args)))
        d.addErrback(log.err, f"Dependent {self.name!r}: following upstream buildsets")
        return d

    async def _waited(self) -> list[int]:
        return list(await self.getState(UPSTREAM_BSIDS, []))

    async def _track(self, bsid: int) -> None:
        if not self._working:
            return
        waited = await self._waited()
        if bsid not in waited:
            await self.setState(UPSTREAM_BSIDS, [*waited, bsid])
        # an upstream buildset without builders completes before we hear it is new
        bs = await self.master.data.get(("buildsets", bsid))
        if bs is not None and bs["complete"]:
            await self._completed(bsid, bs["results"], bs)

    async def _completed(self, bsid: int, results: int | None, bs: dict[str, Any]) -> None:
        if not self._working:
            return
        waited = await self._waited()
        if bsid not in waited:
            return
        # forgotten first: a failure below must not make us build it twice
        await self.setState(UPSTREAM_BSIDS, [b for b in waited if b != bsid])
        if results not in (SUCCESS, WARNINGS):
            return
        ssids = [ss["ssid"] for ss in bs.get("sourcestamps") or []]
        await self.addBuildsetForSourceStamps(sourcestamps=ssids, reason="downstream")

    async def _check_waited(self) -> None:
        for bsid in await self._waited():
            bs = await self.master.data.get(("buildsets", bsid))
            if bs is None:  # gone: nothing left to wait for
                waited = await self._waited()
                await self.setState(UPSTREAM_BSIDS, [b for b in waited if b != bsid])
            elif bs["complete"]:
                await self._completed(bsid, bs["results"], bs)
