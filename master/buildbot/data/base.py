"""Resource types and endpoints: what every module of the data API builds on.

A resource type module defines one `ResourceType` subclass with its
`endpoints` (classes), its `fields` (name -> type in the spec's notation:
`int`, `str?`, `ts`, `[int]`...) and its update methods, marked with
`@updateMethod` so that the connector puts them on ``master.data.updates``.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

from twisted.internet import defer

from buildbot.data import exceptions
from buildbot.data.resultspec import ResultSpec

_NOT_IDENTIFIER = re.compile(r"[^a-zA-Z0-9._-]")


def force_identifier(maxlength: int, s: str) -> str:
    """`s` made into an identifier of at most `maxlength` characters (log slugs)."""
    s = _NOT_IDENTIFIER.sub("_", s)
    if not s or s[0].isdigit() or s[0] == ".":
        s = "_" + s
    return s[:maxlength]


def updateMethod(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a resource type method as an update method (``master.data.updates.<name>``).

    A coroutine function is wrapped to return a Deferred, as every update does."""
    if inspect.iscoroutinefunction(func):
        coroutine_function = func

        @functools.wraps(coroutine_function)
        def func(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
            return defer.ensureDeferred(coroutine_function(*args, **kwargs))

    func.isUpdateMethod = True  # type: ignore[attr-defined]
    return func


class Endpoint:
    """One or more paths (`pathPatterns`, one per line) that read the same way."""

    pathPatterns: ClassVar[str] = ""
    isCollection: ClassVar[bool] = False
    isRaw: ClassVar[bool] = False
    #: name in the deprecated root link list, if any
    rootLinkName: ClassVar[str | None] = None

    def __init__(self, rtype: ResourceType, master: Any) -> None:
        self.rtype = rtype
        self.master = master

    async def get(self, resultSpec: ResultSpec, kwargs: dict[str, Any]) -> Any:
        """The entity (dict, or None if not found) or the list of entities."""
        raise NotImplementedError

    async def control(self, action: str, args: dict[str, Any], kwargs: dict[str, Any]) -> Any:
        raise exceptions.InvalidControlException(f"action: {action} is not supported")

    def __repr__(self) -> str:
        first = self.pathPatterns.strip().splitlines()[0].strip() if self.pathPatterns else ""
        return f"<{type(self).__name__} {first}>"

    # --- helpers shared by many endpoints ---

    async def getBuilderId(self, kwargs: dict[str, Any]) -> int | None:
        """The builder of the path: `builderid`, or the id of `buildername` (None if unknown)."""
        if "builderid" in kwargs:
            return kwargs["builderid"]
        return await self.master.db.builders.findBuilderId(kwargs["buildername"], autoCreate=False)

    async def getBuild(self, kwargs: dict[str, Any]) -> Any:
        """The build model named by `buildid`, or by builder and `build_number`/`number`."""
        if "buildid" in kwargs:
            return await self.master.db.builds.getBuild(kwargs["buildid"])
        builderid = await self.getBuilderId(kwargs)
        if builderid is None:
            return None
        number = kwargs.get("build_number", kwargs.get("number"))
        return await self.master.db.builds.getBuildByNumber(builderid, number)

    async def getStep(self, kwargs: dict[str, Any]) -> Any:
        """The step model named by `stepid`, or by build and `step_name`/`step_number`."""
        db = self.master.db
        if "stepid" in kwargs:
            return await db.steps.getStep(stepid=kwargs["stepid"])
        build = await self.getBuild(kwargs)
        if build is None:
            return None
        if "step_number" in kwargs:
            return await db.steps.getStep(buildid=build.id, number=kwargs["step_number"])
        return await db.steps.getStep(buildid=build.id, name=kwargs["step_name"])


class ResourceType:
    name: ClassVar[str] = ""
    plural: ClassVar[str] = ""
    endpoints: ClassVar[list[type[Endpoint]]] = []
    keyField: ClassVar[str | None] = None
    #: field -> type, in the notation of the spec's entity table
    fields: ClassVar[dict[str, str]] = {}
    #: routing key patterns of events, one per line: `/builds/:buildid`
    eventPathPatterns: ClassVar[str] = ""

    def __init__(self, master: Any) -> None:
        self.master = master
        self._event_patterns = [
            tuple(e for e in line.strip().split("/") if e)
            for line in self.eventPathPatterns.splitlines()
            if line.strip()
        ]

    def getEndpoints(self) -> list[Endpoint]:
        return [cls(self, self.master) for cls in self.endpoints]

    def _keys(self, value: Any, event: str) -> list[tuple[str | None, ...]]:
        """One key per event path pattern, each `:field` filled by `value(field)`."""
        return [
            (*(value(e[1:]) if e.startswith(":") else e for e in pattern), event)
            for pattern in self._event_patterns
        ]

    def routingKeys(self, msg: dict[str, Any], event: str) -> list[tuple[str, ...]]:
        """The routing keys of an event about `msg`: one per event path pattern."""
        return self._keys(lambda field: str(msg[field]), event)  # type: ignore[return-value]

    def wantsEvent(self, event: str, **known: Any) -> bool:
        """Could an `event` about the resource with these `known` fields reach any
        consumer?  Lets `generateEvent` skip reading a message nobody receives."""

        def value(field: str) -> str | None:
            v = known.get(field)
            return None if v is None else str(v)

        return self.master.mq.wantsAnyOf(self._keys(value, event))

    async def generateEvent(self, _id: Any, *events: str) -> None:
        """Produce `events` about the entity `_id` (its `keyField`), read once from
        the data API, and only if some consumer could receive one of them."""
        wanted = [e for e in events if self.wantsEvent(e, **{self.keyField: _id})]
        if wanted:
            msg = await self.master.data.get((self.plural, _id))
            for event in wanted:
                self.produceEvent(msg, event)

    def produceEvent(self, msg: dict[str, Any] | None, event: str) -> None:
        if msg is None:
            return
        for key in self.routingKeys(msg, event):
            self.master.mq.produce(key, msg)
