"""``master.workers``: the configured workers, and which builders each serves."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.util import service


class WorkerManager(service.BuildbotServiceManager):
    name = "workers"  # type: ignore[assignment]
    config_attr = "workers"
    # after the botmaster (128), so that the builders are registered
    reconfig_priority = 127

    async def _configure_in_db(self, new_config: Any) -> None:
        master = self.master
        updates = master.data.updates
        builderids: dict[str, list[int]] = {}
        for builder in new_config.builders:
            builderid = await updates.findBuilderId(builder.name)
            for workername in builder.workernames:
                builderids.setdefault(workername, []).append(builderid)
        # what this master's workers serve is recorded afresh: gone workers drop out
        await updates.deconfigureAllWorkersForMaster(master.masterid)
        for worker in self.namedServices.values():
            await updates.workerConfigured(
                worker.workerid, master.masterid, builderids.get(worker.name, [])
            )

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(new_config))

    async def _reconfig(self, new_config: Any) -> None:
        await super().reconfigServiceWithBuildbotConfig(new_config)
        await self._configure_in_db(new_config)
