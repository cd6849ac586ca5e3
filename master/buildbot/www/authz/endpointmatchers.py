"""Endpoint matchers: the `allowRules` of `util.Authz`.

`match(ep, action, options)` answers a `Match` (which can tell the owner of the
build concerned, for `RolesFromOwner`) when the rule is about this request, else
None. Matchers about one kind of endpoint resolve the path through the data API
and recognise the endpoint by its class name, as the data layer defines it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from buildbot.data.exceptions import InvalidPathError
from buildbot.www.authz.authz import fnmatchStrMatcher, reStrMatcher

READ_ACTIONS = ("get", "head")


class Match:
    """A matched request; knows the build request/buildset it is about, if any."""

    def __init__(
        self,
        master: Any,
        build: dict[str, Any] | None = None,
        buildrequest: dict[str, Any] | None = None,
        buildset: dict[str, Any] | None = None,
    ) -> None:
        self.master = master
        self.build = build
        self.buildrequest = buildrequest
        self.buildset = buildset

    async def getOwner(self) -> Any:
        bsid = None
        if self.buildset is not None:
            bsid = self.buildset["bsid"]
        elif self.buildrequest is not None:
            bsid = self.buildrequest["buildsetid"]
        elif self.build is not None:
            br = await self.master.data.get(("buildrequests", self.build["buildrequestid"]))
            bsid = br["buildsetid"] if br else None
        if bsid is None:
            return None
        props = await self.master.data.get(("buildsets", bsid, "properties")) or {}
        owner = props.get("owner")
        return owner[0] if owner else None


class EndpointMatcherBase:
    def __init__(self, role: str, defaultDeny: bool = True) -> None:
        self.role = role
        self.defaultDeny = defaultDeny
        self.master: Any = None
        self.authz: Any = None

    def setAuthz(self, authz: Any) -> None:
        self.authz = authz

    def setMaster(self, master: Any) -> None:
        self.master = master

    def _strings_match(self, pattern: Any, value: Any) -> bool:
        matcher = self.authz.match if self.authz is not None else fnmatchStrMatcher
        return matcher(value, pattern)

    async def match(
        self, ep: Sequence[Any], action: str = "get", options: dict[str, Any] | None = None
    ) -> Match | None:
        try:
            endpoint, kwargs = self.master.data.getEndpoint(tuple(ep))
        except InvalidPathError:
            return None
        handler = getattr(self, f"match_{type(endpoint).__name__}_{action}", None)
        if handler is None:
            return None
        return await handler(endpoint, kwargs, options or {})

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if k not in ("master", "authz")}
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"{type(self).__name__}({args})"


class AnyEndpointMatcher(EndpointMatcherBase):
    """Every request, reads included."""

    async def match(
        self, ep: Sequence[Any], action: str = "get", options: dict[str, Any] | None = None
    ) -> Match | None:
        return Match(self.master)


class AnyControlEndpointMatcher(EndpointMatcherBase):
    """Every control (any action that is not a read)."""

    async def match(
        self, ep: Sequence[Any], action: str = "get", options: dict[str, Any] | None = None
    ) -> Match | None:
        if action.lower() in READ_ACTIONS:
            return None
        return Match(self.master)


class _BuilderMatcher(EndpointMatcherBase):
    """A matcher optionally restricted to builders whose name matches `builder`."""

    def __init__(self, builder: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.builder = builder

    async def _builder_matches(self, builderid: int) -> bool:
        if self.builder is None:
            return True
        builder = await self.master.data.get(("builders", builderid))
        return builder is not None and self._strings_match(self.builder, builder["name"])

    async def _build(self, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        if "buildid" in kwargs:
            return await self.master.data.get(("builds", kwargs["buildid"]))
        builder = kwargs["builderid"] if "builderid" in kwargs else kwargs["buildername"]
        return await self.master.data.get(
            ("builders", builder, "builds", kwargs.get("build_number", kwargs.get("number")))
        )

    async def _match_build(self, kwargs: dict[str, Any]) -> Match | None:
        build = await self._build(kwargs)
        if build is None or not await self._builder_matches(build["builderid"]):
            return None
        return Match(self.master, build=build)

    async def _match_buildrequest(self, kwargs: dict[str, Any]) -> Match | None:
        br = await self.master.data.get(("buildrequests", kwargs["buildrequestid"]))
        if br is None or not await self._builder_matches(br["builderid"]):
            return None
        return Match(self.master, buildrequest=br)


class ForceBuildEndpointMatcher(_BuilderMatcher):
    """`force` on a force scheduler (of a builder matching `builder`, when given)."""

    async def match_ForceSchedulerEndpoint_force(
        self, endpoint: Any, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> Match | None:
        if self.builder is None:
            return Match(self.master)
        sched = await self.master.data.get(("forceschedulers", kwargs["schedulername"]))
        if sched is None:
            return None
        wanted = options.get("builderNames") or sched["builder_names"]
        if any(self._strings_match(self.builder, name) for name in wanted):
            return Match(self.master)
        return None


class StopBuildEndpointMatcher(_BuilderMatcher):
    """`stop` on a build and `stop`/`cancel` on a build request."""

    async def match_BuildEndpoint_stop(
        self, endpoint: Any, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> Match | None:
        return await self._match_build(kwargs)

    async def match_BuildRequestEndpoint_stop(
        self, endpoint: Any, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> Match | None:
        return await self._match_buildrequest(kwargs)

    match_BuildRequestEndpoint_cancel = match_BuildRequestEndpoint_stop


class RebuildBuildEndpointMatcher(_BuilderMatcher):
    async def match_BuildEndpoint_rebuild(
        self, endpoint: Any, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> Match | None:
        return await self._match_build(kwargs)


class EnableSchedulerEndpointMatcher(EndpointMatcherBase):
    async def match_SchedulerEndpoint_enable(
        self, endpoint: Any, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> Match | None:
        return Match(self.master)


class ViewBuildsEndpointMatcher(EndpointMatcherBase):
    """Accepted for compatibility; like Buildbot 4.3 it matches nothing."""

    def __init__(
        self, branch: Any = None, project: Any = None, builder: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.branch, self.project, self.builder = branch, project, builder

    async def match(
        self, ep: Sequence[Any], action: str = "get", options: dict[str, Any] | None = None
    ) -> Match | None:
        return None


class BranchEndpointMatcher(EndpointMatcherBase):
    """Accepted for compatibility; like Buildbot 4.3 it matches nothing."""

    def __init__(self, branch: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.branch = branch

    async def match(
        self, ep: Sequence[Any], action: str = "get", options: dict[str, Any] | None = None
    ) -> Match | None:
        return None


__all__ = [
    "AnyControlEndpointMatcher",
    "AnyEndpointMatcher",
    "BranchEndpointMatcher",
    "EnableSchedulerEndpointMatcher",
    "ForceBuildEndpointMatcher",
    "Match",
    "RebuildBuildEndpointMatcher",
    "StopBuildEndpointMatcher",
    "ViewBuildsEndpointMatcher",
    "fnmatchStrMatcher",
    "reStrMatcher",
]
