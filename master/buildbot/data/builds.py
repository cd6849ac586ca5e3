"""Builds: one run of a builder for a build request."""

from __future__ import annotations

from typing import Any

from buildbot.data import base, exceptions
from buildbot.data.buildrequests import select_properties


def build_dict(b: Any, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "buildid": b.id,
        "number": b.number,
        "builderid": b.builderid,
        "buildrequestid": b.buildrequestid,
        "workerid": b.workerid,
        "masterid": b.masterid,
        "started_at": b.started_at,
        "complete_at": b.complete_at,
        "complete": b.complete_at is not None,
        "locks_duration_s": b.locks_duration_s,
        "results": b.results,
        "state_string": b.state_string,
        "properties": properties if properties is not None else {},
    }


async def with_properties(master: Any, builds: list[Any], wanted: list[str]) -> list[dict]:
    out = []
    for b in builds:
        props = None
        if wanted:
            props = select_properties(await master.db.builds.getBuildProperties(b.id), wanted)
        out.append(build_dict(b, props))
    return out


class BuildEndpoint(base.Endpoint):
    pathPatterns = """
        /builds/n:buildid
        /builders/n:builderid/builds/n:build_number
        /builders/s:buildername/builds/n:build_number
    """

    async def get(self, resultSpec, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            return None
        wanted = resultSpec.popProperties() if resultSpec else []
        return (await with_properties(self.master, [build], wanted))[0]

    async def control(self, action, args, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            raise exceptions.InvalidPathError("no such build")
        if action == "stop":
            reason = kwargs.get("reason", args.get("reason", "no reason"))
            self.master.mq.produce(("control", "builds", str(build.id), "stop"), {"reason": reason})
            return None
        if action == "rebuild":
            br = await self.master.data.get(("buildrequests", build.buildrequestid))
            return await self.master.data.updates.rebuildBuildrequest(br)
        raise exceptions.InvalidControlException(f"action: {action} is not supported")


class BuildsEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "builds"
    pathPatterns = """
        /builds
        /builders/n:builderid/builds
        /builders/s:buildername/builds
        /buildrequests/n:buildrequestid/builds
        /changes/n:changeid/builds
        /workers/n:workerid/builds
        /builds/n:buildid/triggered_builds
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        wanted = resultSpec.popProperties() if resultSpec else []
        if "changeid" in kwargs:
            builds = await db.builds.getBuildsForChange(kwargs["changeid"])
        elif "buildid" in kwargs:
            builds = await db.builds.get_triggered_builds(kwargs["buildid"])
        else:
            builderid = None
            if "builderid" in kwargs or "buildername" in kwargs:
                builderid = await self.getBuilderId(kwargs)
                if builderid is None:
                    return []
            complete = buildrequestid = None
            if resultSpec is not None:
                complete = resultSpec.popBooleanFilter("complete")
                buildrequestid = resultSpec.popIntegerFilter("buildrequestid")
                if builderid is None:
                    builderid = resultSpec.popIntegerFilter("builderid")
            buildrequestid = kwargs.get("buildrequestid", buildrequestid)
            builds = await db.builds.getBuilds(
                builderid=builderid,
                buildrequestid=buildrequestid,
                workerid=kwargs.get("workerid"),
                complete=complete,
            )
        return await with_properties(self.master, builds, wanted)


class Build(base.ResourceType):
    name = "build"
    plural = "builds"
    endpoints = [BuildEndpoint, BuildsEndpoint]
    keyField = "buildid"
    fields = {
        "buildid": "int",
        "number": "int",
        "builderid": "int",
        "buildrequestid": "int",
        "workerid": "int",
        "masterid": "int",
        "started_at": "ts",
        "complete": "bool",
        "complete_at": "ts?",
        "locks_duration_s": "int",
        "results": "int?",
        "state_string": "str",
        "properties": "props?",
    }
    eventPathPatterns = """
        /builders/:builderid/builds/:number
        /builds/:buildid
        /workers/:workerid/builds/:buildid
    """

    @base.updateMethod
    def addBuild(self, builderid: int, buildrequestid: int, workerid: int | None):
        """Add a build (state 'created'); returns (buildid, number). The `new` event
        comes from generateNewBuildEvent, once the build has its properties."""
        return self.master.db.builds.addBuild(
            builderid=builderid,
            buildrequestid=buildrequestid,
            workerid=workerid,
            masterid=self.master.masterid,
            state_string="created",
        )

    @base.updateMethod
    async def generateNewBuildEvent(self, buildid: int) -> None:
        await self.generateEvent(buildid, "new")

    @base.updateMethod
    async def setBuildStateString(self, buildid: int, state_string: str) -> None:
        await self.master.db.builds.setBuildStateString(buildid, state_string)
        await self.generateEvent(buildid, "update")

    @base.updateMethod
    async def add_build_locks_duration(self, buildid: int, duration_s: int) -> None:
        await self.master.db.builds.add_build_locks_duration(buildid, duration_s)
        await self.generateEvent(buildid, "update")

    @base.updateMethod
    async def finishBuild(self, buildid: int, results: int) -> None:
        await self.master.db.builds.finishBuild(buildid, results)
        await self.generateEvent(buildid, "finished")
