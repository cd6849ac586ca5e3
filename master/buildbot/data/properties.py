"""Build and buildset properties: `{name: (value, source)}` objects and name/value lists."""

from __future__ import annotations

import json
from typing import Any

from buildbot.data import base


def property_list(props: dict[str, tuple[Any, str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "source": source, "value": json.dumps(value)}
        for name, (value, source) in props.items()
    ]


def as_property_dict(properties: Any) -> dict[str, tuple[Any, str]]:
    """{name: (value, source)} from such a dict or a Properties object (`asDict()`)."""
    if hasattr(properties, "getProperties"):
        properties = properties.getProperties()
    if hasattr(properties, "asDict"):
        properties = properties.asDict()
    return {name: (vs[0], vs[1]) for name, vs in properties.items()}


class BuildsetPropertiesEndpoint(base.Endpoint):
    pathPatterns = "/buildsets/n:bsid/properties"

    async def get(self, resultSpec, kwargs):
        return await self.master.db.buildsets.getBuildsetProperties(kwargs["bsid"])


class BuildPropertiesEndpoint(base.Endpoint):
    pathPatterns = """
        /builds/n:buildid/properties
        /builders/n:builderid/builds/n:build_number/properties
    """

    async def get(self, resultSpec, kwargs):
        build = await self.getBuild(kwargs)
        if build is None:
            return None
        return await self.master.db.builds.getBuildProperties(build.id)


class Properties(base.ResourceType):
    name = "property"
    plural = "properties"
    endpoints = [BuildsetPropertiesEndpoint, BuildPropertiesEndpoint]
    keyField = None
    fields = {}
    eventPathPatterns = "/builds/:buildid/properties"

    def generateUpdateEvent(self, buildid: int, newprops: dict[str, Any]) -> None:
        # the routing key needs the build id, the body is just the changed properties
        for key in self.routingKeys({"buildid": buildid}, "update"):
            self.master.mq.produce(key, newprops)

    @base.updateMethod
    async def setBuildProperty(self, buildid: int, name: str, value: Any, source: str) -> None:
        await self.master.db.builds.setBuildProperty(buildid, name, value, source)
        self.generateUpdateEvent(buildid, {name: (value, source)})

    @base.updateMethod
    async def setBuildProperties(self, buildid: int, properties: Any) -> None:
        """Store the properties that changed (a dict or Properties); one event with them."""
        changed = await self.master.db.builds.setBuildProperties(
            buildid, as_property_dict(properties)
        )
        self.generateUpdateEvent(buildid, changed)


class BuildsetPropertyListEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/buildsets/n:bsid/properties_list"

    async def get(self, resultSpec, kwargs):
        return property_list(await self.master.db.buildsets.getBuildsetProperties(kwargs["bsid"]))


class BuildPropertyListEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/builds/n:buildid/property_list"

    async def get(self, resultSpec, kwargs):
        return property_list(await self.master.db.builds.getBuildProperties(kwargs["buildid"]))


class ChangePropertyListEndpoint(base.Endpoint):
    """The reference registers this path but fails on it (500); this is what it means."""

    isCollection = True
    pathPatterns = "/changes/n:changeid/properties_list"

    async def get(self, resultSpec, kwargs):
        change = await self.master.db.changes.getChange(kwargs["changeid"])
        return property_list(change.properties) if change is not None else []


class PropertyList(base.ResourceType):
    name = "_property"
    plural = "_properties"
    endpoints = [
        BuildsetPropertyListEndpoint,
        BuildPropertyListEndpoint,
        ChangePropertyListEndpoint,
    ]
    fields = {"name": "str", "source": "str", "value": "json"}
