"""Buildsets: a request to build some sourcestamps on some builders."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.data.sourcestamps import sourcestamp_dict
from buildbot.db.buildsets import AlreadyCompleteError
from buildbot.process.results import SUCCESS, worst_status
from buildbot.util import datetime2epoch, epoch2datetime


async def buildset_dict(master: Any, bs: Any) -> dict[str, Any]:
    by_id: dict[int, Any] = {}
    if bs.sourcestamps:
        # one query for all of them, not one per sourcestamp
        models = await master.db.sourcestamps.get_sourcestamps_for_buildset(bs.bsid)
        by_id = {ss.ssid: ss for ss in models}
    sourcestamps = [sourcestamp_dict(by_id[ssid]) for ssid in bs.sourcestamps if ssid in by_id]
    return {
        "bsid": bs.bsid,
        "external_idstring": bs.external_idstring,
        "reason": bs.reason,
        "submitted_at": datetime2epoch(bs.submitted_at),
        "complete": bs.complete,
        "complete_at": datetime2epoch(bs.complete_at),
        "results": bs.results,
        "parent_buildid": bs.parent_buildid,
        "parent_relationship": bs.parent_relationship,
        "rebuilt_buildid": bs.rebuilt_buildid,
        "sourcestamps": sourcestamps,
    }


class BuildsetEndpoint(base.Endpoint):
    pathPatterns = "/buildsets/n:bsid"

    async def get(self, resultSpec, kwargs):
        bs = await self.master.db.buildsets.getBuildset(kwargs["bsid"])
        return await buildset_dict(self.master, bs) if bs is not None else None


class BuildsetsEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "buildsets"
    pathPatterns = "/buildsets"

    async def get(self, resultSpec, kwargs):
        complete = resultSpec.popBooleanFilter("complete") if resultSpec else None
        buildsets = await self.master.db.buildsets.getBuildsets(complete=complete)
        return [await buildset_dict(self.master, bs) for bs in buildsets]


class Buildset(base.ResourceType):
    name = "buildset"
    plural = "buildsets"
    endpoints = [BuildsetEndpoint, BuildsetsEndpoint]
    keyField = "bsid"
    fields = {
        "bsid": "int",
        "external_idstring": "str?",
        "reason": "str",
        "rebuilt_buildid": "int?",
        "submitted_at": "int",
        "complete": "bool",
        "complete_at": "int?",
        "results": "int?",
        "sourcestamps": "[entity(sourcestamp)]",
        "parent_buildid": "int?",
        "parent_relationship": "str?",
    }
    eventPathPatterns = "/buildsets/:bsid"

    async def _ssids(self, sourcestamps: list[Any]) -> list[int]:
        """Sourcestamp ids from ids or dicts of findSourceStampId's arguments."""
        ssids = []
        for ss in sourcestamps:
            if isinstance(ss, int):
                ssids.append(ss)
            else:
                ssids.append(await self.master.db.sourcestamps.findSourceStampId(**ss))
        return ssids

    @base.updateMethod
    async def addBuildset(
        self,
        waited_for: bool,
        scheduler: str | None = None,
        sourcestamps: list[Any] | None = None,
        reason: str = "",
        properties: dict[str, tuple[Any, str]] | None = None,
        builderids: list[int] | None = None,
        external_idstring: str | None = None,
        rebuilt_buildid: int | None = None,
        parent_buildid: int | None = None,
        parent_relationship: str | None = None,
        priority: int = 0,
    ) -> tuple[int, dict[int, int]]:
        """Add a buildset and its build requests; returns (bsid, {builderid: brid}).

        Events: each request's `new`, then the buildset's `new` (with the
        `scheduler`); a buildset with no builders completes at once.
        """
        builderids = list(builderids or [])
        ssids = await self._ssids(list(sourcestamps or []))
        submitted_at = int(self.master.reactor.seconds())
        bsid, brids = await self.master.db.buildsets.addBuildset(
            sourcestamps=ssids,
            reason=reason,
            properties=properties or {},
            builderids=builderids,
            waited_for=waited_for,
            external_idstring=external_idstring,
            submitted_at=epoch2datetime(submitted_at),
            rebuilt_buildid=rebuilt_buildid,
            parent_buildid=parent_buildid,
            parent_relationship=parent_relationship,
            priority=priority,
        )
        self.master.data.rtypes.buildrequest.produceNewEvents(
            bsid, brids, priority, submitted_at, waited_for
        )
        if self.wantsEvent("new", bsid=bsid):
            bs = await self.master.db.buildsets.getBuildset(bsid)
            msg = await buildset_dict(self.master, bs)
            msg.update(complete=False, complete_at=None, results=None, scheduler=scheduler)
            del msg["parent_relationship"]
            self.produceEvent(msg, "new")
        if not builderids:
            await self.maybeBuildsetComplete(bsid)
        return bsid, brids

    @base.updateMethod
    async def maybeBuildsetComplete(self, bsid: int) -> None:
        """Complete the buildset (worst result of its requests) once they all are."""
        db = self.master.db
        requests = await db.buildrequests.getBuildRequests(bsid=bsid)
        if any(not br.complete for br in requests):
            return
        results = SUCCESS
        for br in requests:
            results = worst_status(results, br.results)
        complete_at = epoch2datetime(int(self.master.reactor.seconds()))
        try:
            await db.buildsets.completeBuildset(bsid, results, complete_at=complete_at)
        except AlreadyCompleteError:
            return
        if self.wantsEvent("complete", bsid=bsid):
            bs = await db.buildsets.getBuildset(bsid)
            self.produceEvent(await buildset_dict(self.master, bs), "complete")
