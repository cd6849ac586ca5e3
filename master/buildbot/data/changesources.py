"""Change sources and the master running each. No events."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.db.changesources import ChangeSourceAlreadyClaimedError


async def embed_master(master: Any, masterid: int | None) -> dict[str, Any] | None:
    if masterid is None:
        return None
    return await master.data.get(("masters", masterid))


async def changesource_dict(master: Any, cs: Any) -> dict[str, Any]:
    return {
        "changesourceid": cs.id,
        "name": cs.name,
        "master": await embed_master(master, cs.masterid),
    }


class ChangeSourceEndpoint(base.Endpoint):
    pathPatterns = """
        /changesources/n:changesourceid
        /masters/n:masterid/changesources/n:changesourceid
    """

    async def get(self, resultSpec, kwargs):
        cs = await self.master.db.changesources.getChangeSource(kwargs["changesourceid"])
        if cs is None or ("masterid" in kwargs and cs.masterid != kwargs["masterid"]):
            return None
        return await changesource_dict(self.master, cs)


class ChangeSourcesEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "changesources"
    pathPatterns = """
        /changesources
        /masters/n:masterid/changesources
    """

    async def get(self, resultSpec, kwargs):
        sources = await self.master.db.changesources.getChangeSources(
            masterid=kwargs.get("masterid")
        )
        return [await changesource_dict(self.master, cs) for cs in sources]


class ChangeSource(base.ResourceType):
    name = "changesource"
    plural = "changesources"
    endpoints = [ChangeSourceEndpoint, ChangeSourcesEndpoint]
    keyField = "changesourceid"
    fields = {"changesourceid": "int", "name": "str", "master": "entity(master)?"}

    @base.updateMethod
    def findChangeSourceId(self, name: str):
        return self.master.db.changesources.findChangeSourceId(name)

    @base.updateMethod
    async def trySetChangeSourceMaster(self, changesourceid: int, masterid: int | None) -> bool:
        """Claim (or with None release) the change source; False if another master has it."""
        try:
            await self.master.db.changesources.setChangeSourceMaster(changesourceid, masterid)
        except ChangeSourceAlreadyClaimedError:
            return False
        return True
