"""``master.data``: reads by path, controls, and the update methods.

builds = await master.data.get(("builders", 5, "builds"), limit=10, order=["-number"])
buildid, number = await master.data.updates.addBuild(builderid, brid, workerid)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from buildbot.data import base
from buildbot.data.pathmatch import Matcher, parse_pattern
from buildbot.data.resultspec import Filter, ResultSpec
from buildbot.util import service

#: the modules holding one resource type each
SUBMODULES = [
    "buildbot.data.masters",
    "buildbot.data.builders",
    "buildbot.data.workers",
    "buildbot.data.buildsets",
    "buildbot.data.buildrequests",
    "buildbot.data.builds",
    "buildbot.data.steps",
    "buildbot.data.logs",
    "buildbot.data.logchunks",
    "buildbot.data.changes",
    "buildbot.data.sourcestamps",
    "buildbot.data.properties",
    "buildbot.data.changesources",
    "buildbot.data.schedulers",
    "buildbot.data.forceschedulers",
    "buildbot.data.projects",
    "buildbot.data.codebases",
    "buildbot.data.codebase_branches",
    "buildbot.data.codebase_commits",
    "buildbot.data.build_data",
    "buildbot.data.test_result_sets",
    "buildbot.data.test_results",
    "buildbot.data.rootlinks",
    "buildbot.data.spec",
]


class Updates:
    """The namespace of update methods (``master.data.updates.addBuild(...)``)."""


class RTypes:
    """Resource types by name (``master.data.rtypes.build``)."""


def resource_types(module: Any) -> list[type[base.ResourceType]]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, base.ResourceType)
        and obj is not base.ResourceType
        and obj.__module__ == module.__name__
    ]


class DataConnector(service.AsyncMultiService):
    name = "data"
    submodules = SUBMODULES

    def __init__(self) -> None:
        super().__init__()
        self.matcher = Matcher()
        self.updates = Updates()
        self.rtypes = RTypes()
        self.plurals: dict[str, str] = {}
        self._ready = False

    def setServiceParent(self, parent: Any) -> defer.Deferred[Any]:
        d = super().setServiceParent(parent)
        self.setup()
        return d

    def setup(self) -> None:
        """Instantiate the resource types for our master (once)."""
        if self._ready:
            return
        self._ready = True
        for name in self.submodules:
            for cls in resource_types(importlib.import_module(name)):
                self._register(cls(self.master))

    def _register(self, rtype: base.ResourceType) -> None:
        setattr(self.rtypes, rtype.name, rtype)
        self.plurals[rtype.name] = rtype.plural
        for attr in dir(rtype):
            method = getattr(rtype, attr)
            if getattr(method, "isUpdateMethod", False):
                self._add_update(attr, method)
        for endpoint in rtype.getEndpoints():
            for line in endpoint.pathPatterns.splitlines():
                if line.strip():
                    self.matcher[parse_pattern(line)] = endpoint

    def _add_update(self, name: str, method: Any) -> None:
        setattr(self.updates, name, method)

    def getResourceType(self, name: str) -> base.ResourceType | None:
        return getattr(self.rtypes, name, None)

    def getEndpoint(self, path: Sequence[Any]) -> tuple[base.Endpoint, dict[str, Any]]:
        """(endpoint, path kwargs); InvalidPathError if no endpoint has that path."""
        return self.matcher.match(tuple(path))

    def allEndpoints(self) -> list[dict[str, Any]]:
        """One description per path pattern: path, collection or not, type, plural, fields."""
        out = []
        for pattern, endpoint in sorted(self.matcher.items()):
            rtype = endpoint.rtype
            out.append(
                {
                    "path": "/".join(pattern),
                    "type": rtype.name,
                    "plural": rtype.plural,
                    "isCollection": endpoint.isCollection,
                    "isRaw": endpoint.isRaw,
                    "fields": dict(rtype.fields),
                }
            )
        return out

    def get(
        self,
        path: Sequence[Any],
        filters: Sequence[Filter] | None = None,
        fields: Sequence[str] | None = None,
        order: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        properties: Sequence[str] | None = None,
    ) -> defer.Deferred[Any]:
        """The entity at `path` (None if not found) or, for a collection, a ListResult."""
        return defer.ensureDeferred(
            self._get(path, ResultSpec(filters, fields, order, limit, offset, properties))
        )

    def getWithResultSpec(self, path: Sequence[Any], resultSpec: ResultSpec):
        return defer.ensureDeferred(self._get(path, resultSpec))

    def getFromEndpoint(
        self, endpoint: base.Endpoint, kwargs: dict[str, Any], resultSpec: ResultSpec
    ) -> defer.Deferred[Any]:
        """`getWithResultSpec` for a path already matched by `getEndpoint`."""
        return defer.ensureDeferred(self._read(endpoint, kwargs, resultSpec))

    async def _get(self, path: Sequence[Any], spec: ResultSpec) -> Any:
        endpoint, kwargs = self.getEndpoint(path)
        return await self._read(endpoint, kwargs, spec)

    async def _read(self, endpoint: base.Endpoint, kwargs: dict[str, Any], spec: ResultSpec) -> Any:
        data = await endpoint.get(spec, kwargs)
        if endpoint.isRaw:
            return data
        return spec.apply(data)

    def control(self, action: str, args: dict[str, Any], path: Sequence[Any]):
        endpoint, kwargs = self.getEndpoint(path)
        return defer.ensureDeferred(endpoint.control(action, args, kwargs))
