"""Masters: the running (and once running) build masters."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.data.resultspec import Filter
from buildbot.process.results import RETRY

#: a master unseen for this long is considered dead
EXPIRE_MINUTES = 10


def master_dict(m: Any) -> dict[str, Any]:
    return {"masterid": m.id, "name": m.name, "active": m.active, "last_active": m.last_active}


class MasterEndpoint(base.Endpoint):
    pathPatterns = """
        /masters/n:masterid
        /builders/n:builderid/masters/n:masterid
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        if "builderid" in kwargs:
            builder = await db.builders.getBuilder(kwargs["builderid"])
            if builder is None or kwargs["masterid"] not in builder.masterids:
                return None
        m = await db.masters.getMaster(kwargs["masterid"])
        return master_dict(m) if m is not None else None


class MastersEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "masters"
    pathPatterns = """
        /masters
        /builders/n:builderid/masters
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        masters = await db.masters.getMasters()
        if "builderid" in kwargs:
            builder = await db.builders.getBuilder(kwargs["builderid"])
            wanted = set(builder.masterids) if builder is not None else set()
            masters = [m for m in masters if m.id in wanted]
        return [master_dict(m) for m in masters]


class Master(base.ResourceType):
    name = "master"
    plural = "masters"
    endpoints = [MasterEndpoint, MastersEndpoint]
    keyField = "masterid"
    fields = {"masterid": "int", "name": "str", "active": "bool", "last_active": "ts"}
    eventPathPatterns = "/masters/:masterid"

    @base.updateMethod
    async def masterActive(self, name: str, masterid: int) -> None:
        """The master is alive: refresh it, and announce it if it was not active."""
        if await self.master.db.masters.setMasterState(masterid, True):
            self.produceEvent({"masterid": masterid, "name": name, "active": True}, "started")

    @base.updateMethod
    async def masterStopped(self, name: str, masterid: int) -> None:
        if await self.master.db.masters.setMasterState(masterid, False):
            await self._masterDeactivated(masterid, name)

    @base.updateMethod
    async def expireMasters(self, forceHouseKeeping: bool = False) -> None:
        """Deactivate the masters unseen for `master.master_expire_seconds` (default
        EXPIRE_MINUTES); with `forceHouseKeeping`,
        clean up after every inactive master too."""
        db = self.master.db
        expire = getattr(self.master, "master_expire_seconds", 60 * EXPIRE_MINUTES)
        too_old = self.master.reactor.seconds() - expire
        for m in await db.masters.getMasters():
            if m.last_active is None:
                continue
            expired = m.active and m.last_active.timestamp() < too_old
            if expired and await db.masters.setMasterState(m.id, False):
                await self._masterDeactivated(m.id, m.name)
            elif forceHouseKeeping and not m.active:
                await self._housekeeping(m.id)

    async def _masterDeactivated(self, masterid: int, name: str) -> None:
        await self._housekeeping(masterid)
        self.produceEvent({"masterid": masterid, "name": name, "active": False}, "stopped")

    async def _housekeeping(self, masterid: int) -> None:
        """End what a dead master left running: its builds (RETRY), their open steps and
        logs, and give their build requests back."""
        data = self.master.data
        filters = [Filter("masterid", "eq", [masterid]), Filter("complete", "eq", [False])]
        builds = await data.get(("builds",), filters=filters)
        for build in builds:
            steps = await data.get(("builds", build["buildid"], "steps"))
            for step in steps:
                if step["complete"]:
                    continue
                for log in await data.get(("steps", step["stepid"], "logs")):
                    if not log["complete"]:
                        await data.updates.finishLog(log["logid"])
                await data.updates.finishStep(step["stepid"], RETRY, False)
            await data.updates.finishBuild(build["buildid"], RETRY)
        brids = await self.master.db.buildrequests.releaseClaimsForMaster(masterid)
        await data.rtypes.buildrequest.generateEvent(brids, "unclaimed")
