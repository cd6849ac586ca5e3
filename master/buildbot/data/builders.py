"""Builders: their names, descriptions, tags, projects and the masters running them."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.data import base


def builder_dict(b: Any) -> dict[str, Any]:
    return {
        "builderid": b.id,
        "name": b.name,
        "masterids": list(b.masterids),
        "description": b.description,
        "description_format": b.description_format,
        "description_html": b.description_html,
        "projectid": b.projectid,
        "tags": list(b.tags),
    }


class BuilderEndpoint(base.Endpoint):
    pathPatterns = """
        /builders/n:builderid
        /builders/s:buildername
        /masters/n:masterid/builders/n:builderid
    """

    async def get(self, resultSpec, kwargs):
        builderid = await self.getBuilderId(kwargs)
        if builderid is None:
            return None
        b = await self.master.db.builders.getBuilder(builderid)
        if b is None:
            return None
        if "masterid" in kwargs and kwargs["masterid"] not in b.masterids:
            return None
        return builder_dict(b)


class BuildersEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "builders"
    pathPatterns = """
        /builders
        /masters/n:masterid/builders
        /projects/n:projectid/builders
        /workers/n:workerid/builders
    """

    async def get(self, resultSpec, kwargs):
        builders = await self.master.db.builders.getBuilders(
            masterid=kwargs.get("masterid"),
            projectid=kwargs.get("projectid"),
            workerid=kwargs.get("workerid"),
        )
        return [builder_dict(b) for b in builders]


class Builder(base.ResourceType):
    name = "builder"
    plural = "builders"
    endpoints = [BuilderEndpoint, BuildersEndpoint]
    keyField = "builderid"
    fields = {
        "builderid": "int",
        "name": "str",
        "masterids": "[int]",
        "description": "str?",
        "description_format": "str?",
        "description_html": "str?",
        "projectid": "int?",
        "tags": "[str]",
    }
    eventPathPatterns = "/builders/:builderid"

    def __init__(self, master: Any) -> None:
        super().__init__(master)
        # builder rows are never deleted or renamed: their ids can be remembered
        self._ids: dict[str, int] = {}

    @base.updateMethod
    def findBuilderId(self, name: str) -> defer.Deferred[int]:
        builderid = self._ids.get(name)
        if builderid is not None:
            return defer.succeed(builderid)
        d = self.master.db.builders.findBuilderId(name)

        @d.addCallback
        def remember(builderid: int) -> int:
            self._ids[name] = builderid
            return builderid

        return d

    @base.updateMethod
    async def updateBuilderInfo(
        self,
        builderid: int,
        description: str | None,
        description_format: str | None,
        description_html: str | None,
        projectid: int | None,
        tags: list[str] | None,
    ) -> None:
        await self.master.db.builders.updateBuilderInfo(
            builderid, description, description_format, description_html, projectid, tags
        )
        await self.generateEvent(builderid, "update")

    @base.updateMethod
    async def updateBuilderList(self, masterid: int, builderNames: list[str]) -> None:
        """Make `builderNames` the builders this master runs; announce the changes."""
        db = self.master.db
        current = {b.name: b.id for b in await db.builders.getBuilders(masterid=masterid)}
        wanted = set(builderNames)
        for name, builderid in sorted(current.items()):
            if name not in wanted:
                await db.builders.removeBuilderMaster(builderid=builderid, masterid=masterid)
                self.produceEvent(
                    {"builderid": builderid, "masterid": masterid, "name": name}, "stopped"
                )
        for name in builderNames:
            if name in current:
                continue
            builderid = await db.builders.findBuilderId(name)
            await db.builders.addBuilderMaster(builderid=builderid, masterid=masterid)
            self.produceEvent(
                {"builderid": builderid, "masterid": masterid, "name": name}, "started"
            )
