"""``master.botmaster``: the builders of the running master.

On each reconfig it adds a `Builder` for every new `BuilderConfig`, removes the
builders gone from the config, hands every builder its new configuration, and
records in the DB which builders this master runs.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.process.builder import Builder
from buildbot.util import service


class BotMaster(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    name = "botmaster"  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.builders: dict[str, Builder] = {}
        self.builderNames: list[str] = []

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
        await self.master.data.updates.updateBuilderList(self.master.masterid, wanted)
