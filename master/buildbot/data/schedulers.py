"""Schedulers, whether each is enabled, and the master running it."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.data.changesources import embed_master
from buildbot.db.schedulers import SchedulerAlreadyClaimedError


async def scheduler_dict(master: Any, s: Any) -> dict[str, Any]:
    return {
        "schedulerid": s.id,
        "name": s.name,
        "enabled": s.enabled,
        "master": await embed_master(master, s.masterid),
    }


class SchedulerEndpoint(base.Endpoint):
    pathPatterns = """
        /schedulers/n:schedulerid
        /masters/n:masterid/schedulers/n:schedulerid
    """

    async def get(self, resultSpec, kwargs):
        s = await self.master.db.schedulers.getScheduler(kwargs["schedulerid"])
        if s is None or ("masterid" in kwargs and s.masterid != kwargs["masterid"]):
            return None
        return await scheduler_dict(self.master, s)

    async def control(self, action, args, kwargs):
        if action == "enable":
            await self.master.data.updates.schedulerEnable(kwargs["schedulerid"], args["enabled"])
        return None


class SchedulersEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "schedulers"
    pathPatterns = """
        /schedulers
        /masters/n:masterid/schedulers
    """

    async def get(self, resultSpec, kwargs):
        schedulers = await self.master.db.schedulers.getSchedulers(masterid=kwargs.get("masterid"))
        return [await scheduler_dict(self.master, s) for s in schedulers]


class Scheduler(base.ResourceType):
    name = "scheduler"
    plural = "schedulers"
    endpoints = [SchedulerEndpoint, SchedulersEndpoint]
    keyField = "schedulerid"
    fields = {"schedulerid": "int", "name": "str", "enabled": "bool", "master": "entity(master)?"}
    eventPathPatterns = "/schedulers/:schedulerid"

    @base.updateMethod
    def findSchedulerId(self, name: str):
        return self.master.db.schedulers.findSchedulerId(name)

    @base.updateMethod
    async def schedulerEnable(self, schedulerid: int, v: bool) -> None:
        await self.master.db.schedulers.enable(schedulerid, v)
        self.produceEvent(await self.master.data.get(("schedulers", schedulerid)), "updated")

    @base.updateMethod
    async def trySetSchedulerMaster(self, schedulerid: int, masterid: int | None) -> bool:
        """Claim (or with None release) the scheduler; False if another master has it."""
        try:
            await self.master.db.schedulers.setSchedulerMaster(schedulerid, masterid)
        except SchedulerAlreadyClaimedError:
            return False
        return True
