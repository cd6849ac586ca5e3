"""``master.botmaster``: the builders of the running master.

On each reconfig it adds a `Builder` for every new `BuilderConfig`, removes the
builders gone from the config, hands every builder its new configuration, and
records in the DB which builders this master runs. It owns the lock registry and
the `BuildRequestDistributor`, which it wakes on new (or returned) build requests
and when a worker becomes free.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.process.builder import Builder
from buildbot.process.buildrequestdistributor import BuildRequestDistributor
from buildbot.process.locks import LockRegistry
from buildbot.process.results import RETRY
from buildbot.util import service


class BotMaster(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    name = "botmaster"  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.builders: dict[str, Builder] = {}
        self.builderNames: list[str] = []
        self.locks = LockRegistry()
        self.config_version = 0
        self.brd = BuildRequestDistributor(self)
        self.brd.setServiceParent(self)
        self._consumers: list[Any] = []
        self.shutting_down = False

    async def startService(self) -> None:  # type: ignore[override]
        self.shutting_down = False
        await super().startService()
        mq = getattr(self.master, "mq", None)
        if mq is None:
            return
        for event in ("new", "unclaimed"):
            self._consumers.append(
                await mq.startConsuming(self._request_event, ("buildrequests", None, event))
            )

    async def stopService(self) -> None:  # type: ignore[override]
        for consumer in self._consumers:
            consumer.stopConsuming()
        self._consumers = []
        # no new build from here on; running builds end as RETRY while the workers and
        # the DB are still there, so that their requests go back to the queue for the
        # next master
        self.shutting_down = True
        await self.stopAllBuilds("the master is stopping", RETRY)
        await super().stopService()

    async def stopAllBuilds(self, reason: str, results: int) -> None:
        await defer.gatherResults(
            [
                defer.ensureDeferred(builder.stopAllBuilds(reason, results))
                for builder in self.builders.values()
            ]
        )

    def _request_event(self, routingKey: Any, data: Any) -> None:
        builder = self.getBuilderById(data["builderid"])
        if builder is not None:
            self.maybeStartBuildsForBuilder(builder.name)

    # --- waking the distributor ---------------------------------------------------------

    def maybeStartBuildsForBuilder(self, buildername: str) -> defer.Deferred[None]:
        return self.brd.maybeStartBuildsOn([buildername])

    def maybeStartBuildsForBuilders(self, buildernames: list[str]) -> defer.Deferred[None]:
        return self.brd.maybeStartBuildsOn(list(buildernames))

    def maybeStartBuildsForWorker(self, workername: str) -> defer.Deferred[None]:
        return self.brd.maybeStartBuildsOn([b.name for b in self.getBuildersForWorker(workername)])

    def maybeStartBuildsForAllBuilders(self) -> defer.Deferred[None]:
        return self.brd.maybeStartBuildsOn(list(self.builderNames))

    def getBuildersForWorker(self, workername: str) -> list[Builder]:
        return [
            b
            for b in self.builders.values()
            if b.config is not None and workername in b.config.workernames
        ]

    def getBuilderById(self, builderid: int) -> Builder | None:
        return next((b for b in self.builders.values() if b.builderid == builderid), None)

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(new_config))

    async def _reconfig(self, new_config: Any) -> None:
        wanted = [b.name for b in new_config.builders]
        builders = dict(self.builders)
        for name in [n for n in builders if n not in wanted]:
            await builders.pop(name).disownServiceParent()
        for name in wanted:
            if name not in builders:
                builder = Builder(name)
                await builder.setServiceParent(self)
                builders[name] = builder
        self.builders = builders
        self.builderNames = wanted
        for name in wanted:
            await builders[name].reconfigServiceWithBuildbotConfig(new_config)
        self.config_version += 1
        await self.master.data.updates.updateBuilderList(self.master.masterid, wanted)
        self.maybeStartBuildsForAllBuilders()
