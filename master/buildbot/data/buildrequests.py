"""Build requests: one per builder of a buildset, claimed by a master to be built."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.db.buildrequests import AlreadyClaimedError, NotClaimedError
from buildbot.process.results import CANCELLED
from buildbot.util import epoch2datetime


def buildrequest_dict(br: Any, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "buildrequestid": br.buildrequestid,
        "buildsetid": br.buildsetid,
        "builderid": br.builderid,
        "priority": br.priority,
        "claimed": br.claimed,
        "claimed_at": br.claimed_at,
        "claimed_by_masterid": br.claimed_by_masterid,
        "complete": br.complete,
        "results": br.results,
        "submitted_at": br.submitted_at,
        "complete_at": br.complete_at,
        "waited_for": br.waited_for,
        "properties": properties,
    }


def select_properties(props: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    if "*" in wanted:
        return dict(props)
    return {k: v for k, v in props.items() if k in wanted}


class _Base(base.Endpoint):
    async def _dicts(self, brs: list[Any], wanted: list[str]) -> list[dict[str, Any]]:
        cache: dict[int, dict[str, Any]] = {}
        out = []
        for br in brs:
            props = None
            if wanted:
                if br.buildsetid not in cache:
                    cache[br.buildsetid] = await self.master.db.buildsets.getBuildsetProperties(
                        br.buildsetid
                    )
                props = select_properties(cache[br.buildsetid], wanted)
            out.append(buildrequest_dict(br, props))
        return out


class BuildRequestEndpoint(_Base):
    pathPatterns = "/buildrequests/n:buildrequestid"

    async def get(self, resultSpec, kwargs):
        br = await self.master.db.buildrequests.getBuildRequest(kwargs["buildrequestid"])
        if br is None:
            return None
        wanted = resultSpec.popProperties() if resultSpec else []
        return (await self._dicts([br], wanted))[0]

    async def control(self, action, args, kwargs):
        brid = kwargs["buildrequestid"]
        if action == "cancel":
            return await self._cancel(brid, args.get("reason", "no reason"))
        if action == "set_priority":
            await self.master.data.updates.set_build_requests_priority([brid], args["priority"])
            return None
        raise ValueError(f"action: {action} is not supported")

    async def _cancel(self, brid: int, reason: str) -> None:
        master = self.master
        master.mq.produce(("control", "buildrequests", str(brid), "cancel"), {"reason": reason})
        br = await master.db.buildrequests.getBuildRequest(brid)
        if br is None or br.complete:
            return None
        if not br.claimed:
            updates = master.data.updates
            if await updates.claimBuildRequests([brid]):
                await updates.completeBuildRequests([brid], CANCELLED)
                # the reference's body is a DB record, which goes out as null
                master.mq.produce(("buildrequests", str(brid), "cancel"), None)
            return None
        for build in await master.db.builds.getBuilds(buildrequestid=brid, complete=False):
            master.mq.produce(("control", "builds", str(build.id), "stop"), {"reason": reason})
        return None


class BuildRequestsEndpoint(_Base):
    isCollection = True
    rootLinkName = "buildrequests"
    pathPatterns = """
        /buildrequests
        /builders/n:builderid/buildrequests
    """

    async def get(self, resultSpec, kwargs):
        complete = claimed = bsid = None
        wanted: list[str] = []
        if resultSpec is not None:
            complete = resultSpec.popBooleanFilter("complete")
            claimed = resultSpec.popBooleanFilter("claimed")
            by_master = resultSpec.popIntegerFilter("claimed_by_masterid")
            if by_master is not None:
                if claimed is False:
                    return []
                claimed = by_master
            bsid = resultSpec.popIntegerFilter("buildsetid")
            wanted = resultSpec.popProperties()
        brs = await self.master.db.buildrequests.getBuildRequests(
            builderid=kwargs.get("builderid"), complete=complete, claimed=claimed, bsid=bsid
        )
        return await self._dicts(brs, wanted)


class BuildRequest(base.ResourceType):
    name = "buildrequest"
    plural = "buildrequests"
    endpoints = [BuildRequestEndpoint, BuildRequestsEndpoint]
    keyField = "buildrequestid"
    fields = {
        "buildrequestid": "int",
        "buildsetid": "int",
        "builderid": "int",
        "priority": "int",
        "claimed": "bool",
        "claimed_at": "ts?",
        "claimed_by_masterid": "int?",
        "complete": "bool",
        "results": "int?",
        "submitted_at": "ts",
        "complete_at": "ts?",
        "waited_for": "bool",
        "properties": "props?",
    }
    eventPathPatterns = """
        /buildsets/:buildsetid/builders/:builderid/buildrequests/:buildrequestid
        /buildrequests/:buildrequestid
        /builders/:builderid/buildrequests/:buildrequestid
    """

    async def generateEvent(self, brids: list[int], *events: str) -> None:  # type: ignore[override]
        for brid in brids:
            await super().generateEvent(brid, *events)

    def produceNewEvents(
        self,
        bsid: int,
        brids: dict[int, int],
        priority: int,
        submitted_at: int,
        waited_for: bool,
    ) -> None:
        """The `new` events of requests just added, from what their creator knows: the
        row holds nothing else yet, so there is nothing to read back."""
        for builderid, brid in brids.items():
            if not self.wantsEvent(
                "new", buildrequestid=brid, buildsetid=bsid, builderid=builderid
            ):
                continue
            msg = {
                "buildrequestid": brid,
                "buildsetid": bsid,
                "builderid": builderid,
                "priority": priority,
                "claimed": False,
                "claimed_at": None,
                "claimed_by_masterid": None,
                "complete": False,
                "results": -1,
                "submitted_at": epoch2datetime(submitted_at),
                "complete_at": None,
                "waited_for": bool(waited_for),
                "properties": None,
            }
            self.produceEvent(msg, "new")

    @base.updateMethod
    async def claimBuildRequests(self, brids: list[int], claimed_at: Any = None) -> bool:
        """Claim them all for this master (True), or none if one is taken (False)."""
        if not brids:
            return True
        if isinstance(claimed_at, (int, float)):
            claimed_at = epoch2datetime(claimed_at)
        try:
            await self.master.db.buildrequests.claimBuildRequests(brids, claimed_at=claimed_at)
        except AlreadyClaimedError:
            return False
        await self.generateEvent(brids, "claimed")
        return True

    @base.updateMethod
    async def unclaimBuildRequests(self, brids: list[int]) -> None:
        if not brids:
            return
        await self.master.db.buildrequests.unclaimBuildRequests(brids)
        await self.generateEvent(brids, "unclaimed")

    @base.updateMethod
    async def completeBuildRequests(
        self, brids: list[int], results: int, complete_at: Any = None
    ) -> bool:
        """Complete them all (True) or none if one is not ours (False); then complete
        the buildsets left with no incomplete request."""
        if not brids:
            return True
        if isinstance(complete_at, (int, float)):
            complete_at = epoch2datetime(complete_at)
        try:
            await self.master.db.buildrequests.completeBuildRequests(
                brids, results, complete_at=complete_at
            )
        except NotClaimedError:
            return False
        await self.generateEvent(brids, "complete")
        seen: set[int] = set()
        for brid in brids:
            br = await self.master.db.buildrequests.getBuildRequest(brid)
            if br is None or br.buildsetid in seen:
                continue
            seen.add(br.buildsetid)
            await self.master.data.updates.maybeBuildsetComplete(br.buildsetid)
        return True

    @base.updateMethod
    async def set_build_requests_priority(self, brids: list[int], priority: int) -> None:
        """Set the priority of incomplete requests (NotClaimedError if one is complete)."""
        await self.master.db.buildrequests.set_build_requests_priority(brids, priority)

    @base.updateMethod
    async def rebuildBuildrequest(self, buildrequest: dict[str, Any]) -> tuple[int, dict]:
        """A new buildset building the request's sourcestamps again on its builder."""
        db = self.master.db
        bs = await db.buildsets.getBuildset(buildrequest["buildsetid"])
        props = await db.buildsets.getBuildsetProperties(buildrequest["buildsetid"])
        rebuilt_buildid = bs.rebuilt_buildid
        if rebuilt_buildid is None:
            builds = await db.builds.getBuilds(buildrequestid=buildrequest["buildrequestid"])
            rebuilt_buildid = builds[0].id if builds else None
        return await self.master.data.updates.addBuildset(
            waited_for=False,
            scheduler="rebuild",
            sourcestamps=list(bs.sourcestamps),
            reason="rebuild",
            properties=props,
            builderids=[buildrequest["builderid"]],
            external_idstring=bs.external_idstring,
            rebuilt_buildid=rebuilt_buildid,
            parent_buildid=bs.parent_buildid,
            parent_relationship=bs.parent_relationship,
        )
