"""Build data: named binary values attached to a build. No events."""

from __future__ import annotations

from typing import Any

from buildbot.data import base

_BUILD_PREFIXES = [
    "/builds/n:buildid",
    "/builders/n:builderid/builds/n:build_number",
    "/builders/s:buildername/builds/n:build_number",
]


def build_data_dict(d: Any) -> dict[str, Any]:
    return {
        "buildid": d.buildid,
        "name": d.name,
        "length": d.length,
        "value": None,
        "source": d.source,
    }


class BuildDatasEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "\n".join(f"{p}/data" for p in _BUILD_PREFIXES)

    async def get(self, resultSpec, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            return []
        data = await self.master.db.build_data.getAllBuildDataNoValues(build.id)
        return [build_data_dict(d) for d in data]


class BuildDataEndpoint(base.Endpoint):
    pathPatterns = "\n".join(f"{p}/data/i:name" for p in _BUILD_PREFIXES)

    async def get(self, resultSpec, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            return None
        d = await self.master.db.build_data.getBuildDataNoValue(build.id, kwargs["name"])
        return build_data_dict(d) if d is not None else None


class BuildDataValueEndpoint(base.Endpoint):
    isRaw = True
    pathPatterns = "\n".join(f"{p}/data/i:name/value" for p in _BUILD_PREFIXES)

    async def get(self, resultSpec, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            return None
        d = await self.master.db.build_data.getBuildData(build.id, kwargs["name"])
        if d is None:
            return None
        return {"raw": d.value, "mime-type": "application/octet-stream", "filename": d.name}


class BuildData(base.ResourceType):
    name = "build_data"
    plural = "build_data"
    endpoints = [BuildDatasEndpoint, BuildDataEndpoint, BuildDataValueEndpoint]
    keyField = "name"
    fields = {"buildid": "int", "name": "str", "length": "int", "value": "binary?", "source": "str"}

    @base.updateMethod
    def setBuildData(self, buildid: int, name: str, value: bytes, source: str):
        return self.master.db.build_data.setBuildData(buildid, name, value, source)
