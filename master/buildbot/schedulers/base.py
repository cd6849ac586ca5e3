"""The base of every scheduler: its configuration, its claim, its enabled flag, and
the creation of buildsets.

A scheduler is a clustered service (one master of a cluster runs it, claimed in
the `scheduler_masters` table). Subclasses do their work (consuming changes,
timers) between `activate` and `deactivate`, following the Buildbot contract::

    async def activate(self):
        await super().activate()
        if not self.enabled:
            return
        ...start consuming changes / timers...

    async def deactivate(self):
        if self.enabled:
            ...stop them...
        await super().deactivate()

`activate` is called when this master wins the claim and again when a disabled
scheduler is enabled; `deactivate` when the master stops or the scheduler is
disabled (still with `enabled` True, so that it knows there is work to stop).

Change-driven schedulers call `startConsumingChanges` in `activate` and implement
`gotChange(change, important)`; consumption stops by itself in `deactivate` (after
the change in hand, if any, has been handled) and their builds come from
`addBuildsetForChanges`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.python import log
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.data.exceptions import InvalidControlArguments
from buildbot.data.properties import as_property_dict
from buildbot.process.properties import Properties
from buildbot.util import service

#: keys a `codebases` entry may give
CODEBASE_KEYS = frozenset({"repository", "branch", "revision"})

#: source of the properties a scheduler sets on its buildsets
PROPERTY_SOURCE = "Scheduler"


class DisabledSchedulerError(InvalidControlArguments):
    """The scheduler is disabled (through the data API's `enable` control)."""


def _renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


async def render(value: Any, props: Any) -> Any:
    """`value` with its renderables (also inside lists, tuples and dicts) rendered."""
    if _renderable(value):
        # a renderer may return another renderable
        return await render(await defer.maybeDeferred(value.getRenderingFor, props), props)
    if isinstance(value, (list, tuple)):
        return type(value)([await render(v, props) for v in value])
    if isinstance(value, dict):
        return {k: await render(v, props) for k, v in value.items()}
    return value


def check_builder_names(owner: str, builderNames: Any) -> None:
    if _renderable(builderNames):
        return
    if isinstance(builderNames, (list, tuple)) and all(
        isinstance(n, str) or _renderable(n) for n in builderNames
    ):
        return
    config.error(
        f"{owner}: builderNames must be a list of builder names (or a renderable "
        f"giving one), not {builderNames!r}"
    )


def check_codebases(owner: str, codebases: Any) -> None:
    if codebases is None:
        return
    if isinstance(codebases, (list, tuple)):
        if not all(isinstance(c, str) for c in codebases):
            config.error(f"{owner}: a list of codebases must hold codebase names (str)")
        return
    if not isinstance(codebases, dict):
        config.error(f"{owner}: codebases must be a dict of dicts or a list of names")
        return
    for name, attrs in codebases.items():
        if not isinstance(name, str) or not isinstance(attrs, dict):
            config.error(f"{owner}: codebases must be a dict of dicts or a list of names")
            continue
        unknown = sorted(set(attrs) - CODEBASE_KEYS)
        if unknown:
            config.error(
                f"{owner}: codebase {name!r} has unknown keys {unknown} "
                f"(allowed: {sorted(CODEBASE_KEYS)})"
            )


def normalize_codebases(codebases: Any) -> dict[str, dict[str, Any]]:
    """{codebase: {repository, branch, revision}} from the config forms (see checks)."""
    if codebases is None:
        return {"": {}}
    if isinstance(codebases, (list, tuple)):
        return {c: {} for c in codebases if isinstance(c, str)}
    if isinstance(codebases, dict):
        return {k: dict(v) for k, v in codebases.items() if isinstance(v, dict)}
    return {"": {}}


@implementer(interfaces.IScheduler)
class BaseScheduler(service.ClusteredBuildbotService):
    """`BaseScheduler(name, builderNames, properties=None, codebases=None, priority=None)`.

    Subclasses add their own arguments by overriding `checkConfig` (whose
    signature gives the arguments and their defaults) and `applyConfig`.
    """

    clustered_kind = "Scheduler"

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        # the name is positional in master.cfg files; BuildbotService takes it by keyword
        self.enabled = True
        self.builderNames: Any = []
        self.properties: dict[str, tuple[Any, str]] = {}
        self.codebases: dict[str, dict[str, Any]] = {"": {}}
        self.priority: Any = None
        self._enable_consumer: Any = None
        self._enable_lock = defer.DeferredLock()
        self._change_consumer: Any = None
        # one change at a time, in arrival order
        self._change_lock = defer.DeferredLock()
        super().__init__(builderNames, *args, name=name, **kwargs)
        if not name:
            config.error(f"{type(self).__name__}: a scheduler needs a name")
        # applied at once: the config checks read listBuilderNames() before any start
        self._configure(builderNames, *args, **kwargs)

    # --- configuration --------------------------------------------------------

    def checkConfig(
        self,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: int | Callable[..., int] | None = None,
    ) -> None:
        owner = f"{type(self).__name__} {self.name!r}"
        check_builder_names(owner, builderNames)
        if properties is not None and not (
            isinstance(properties, dict) and all(isinstance(k, str) for k in properties)
        ):
            config.error(f"{owner}: properties must be a dict of name -> value")
        check_codebases(owner, codebases)
        if not (
            priority is None
            or (isinstance(priority, int) and not isinstance(priority, bool))
            or callable(priority)
            or _renderable(priority)
        ):
            config.error(f"{owner}: priority must be an int, a callable or a renderable")

    def applyConfig(
        self,
        builderNames: Any,
        properties: dict[str, Any] | None,
        codebases: Any,
        priority: Any,
    ) -> None:
        """Take the (checked) arguments. Must not fail on values checkConfig reported:
        a config load goes on after an error, to report every error."""
        self.builderNames = builderNames
        given = properties if isinstance(properties, dict) else {}
        self.properties = {k: (v, PROPERTY_SOURCE) for k, v in given.items() if isinstance(k, str)}
        self.properties["scheduler"] = (self.name, PROPERTY_SOURCE)
        self.codebases = normalize_codebases(codebases)
        self.priority = priority

    def _configure(self, *args: Any, **kwargs: Any) -> None:
        # the arguments as checkConfig received them, with its defaults
        bound = inspect.signature(self.checkConfig).bind(*args, **kwargs)
        bound.apply_defaults()
        self.applyConfig(**bound.arguments)

    def reconfigService(self, *args: Any, **kwargs: Any) -> defer.Deferred[None]:
        self._configure(*args, **kwargs)
        return defer.succeed(None)

    def listBuilderNames(self) -> Any:
        return self.builderNames

    def getPendingBuildTimes(self) -> list[float]:
        """Epoch times at which builds are expected (timed schedulers); none here."""
        return []

    # --- life cycle -----------------------------------------------------------

    def startService(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._start())

    def stopService(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._stop())

    async def _start(self) -> None:
        # every master follows the flag, not only the active one: a forced build is
        # asked of whichever master serves the web request
        self._enable_consumer = await self.master.mq.startConsuming(
            self._enabledEvent, ("schedulers", None, "updated")
        )
        try:
            await service.ClusteredBuildbotService.startService(self)
        except BaseException:
            self._stop_enable_consumer()
            raise

    async def _stop(self) -> None:
        try:
            await service.ClusteredBuildbotService.stopService(self)
        finally:
            self._stop_enable_consumer()
            # a failed activate gets no deactivate: do not leave its consumer behind
            self._stop_change_consumer()

    def _stop_enable_consumer(self) -> None:
        consumer, self._enable_consumer = self._enable_consumer, None
        if consumer is not None:
            consumer.stopConsuming()

    def _getServiceId(self) -> defer.Deferred[int]:
        return defer.ensureDeferred(self._find_id_and_flag())

    async def _find_id_and_flag(self) -> int:
        serviceid = await service.ClusteredBuildbotService._getServiceId(self)
        row = await self.master.data.get(("schedulers", serviceid))
        if row is not None:
            self.enabled = bool(row["enabled"])
        return serviceid

    def activate(self) -> defer.Deferred[None]:
        """Start the work (see the module doc); this master now runs the scheduler."""
        return defer.succeed(None)

    def deactivate(self) -> defer.Deferred[None]:
        """Stop the work started by `activate` (here: the change consumption)."""
        return self.stopConsumingChanges()

    def _enabledEvent(self, key: tuple[str, ...], msg: dict[str, Any]) -> Any:
        if msg.get("name") != self.name:
            return None
        # one change at a time: activate/deactivate must not interleave
        return self._enable_lock.run(
            lambda: defer.ensureDeferred(self._setEnabled(bool(msg["enabled"])))
        )

    async def _setEnabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        if not self.isActive():
            self.enabled = enabled
            return
        try:
            if enabled:
                self.enabled = True
                await defer.maybeDeferred(self.activate)
            else:
                await defer.maybeDeferred(self.deactivate)
        except Exception:
            log.err(None, f"while {'en' if enabled else 'dis'}abling scheduler {self.name!r}")
        finally:
            self.enabled = enabled

    # --- changes --------------------------------------------------------------

    def startConsumingChanges(
        self,
        fileIsImportant: Callable[[Any], bool] | None = None,
        change_filter: Any = None,
        onlyImportant: bool = False,
    ) -> defer.Deferred[None]:
        """Call `gotChange(change, important)` for each new change that passes
        `change_filter` (its `filter_change`) and whose codebase is one of ours.
        `important` is `fileIsImportant(change)` (True without one); with
        `onlyImportant` unimportant changes are dropped. One change at a time."""
        if self._change_consumer is not None:
            return defer.fail(RuntimeError(f"{self.name!r} already consumes changes"))

        def on_change(key: tuple[str, ...], msg: dict[str, Any]) -> defer.Deferred[None]:
            return self._change_lock.run(
                lambda: defer.ensureDeferred(
                    self._handle_change(msg, fileIsImportant, change_filter, onlyImportant)
                )
            )

        d = self.master.mq.startConsuming(on_change, ("changes", None, "new"))

        def started(consumer: Any) -> None:
            self._change_consumer = consumer

        return d.addCallback(started)

    def stopConsumingChanges(self) -> defer.Deferred[None]:
        """Stop consuming changes; fires once the change being handled (if any) is done.
        Changes delivered but not yet handled are dropped."""
        self._stop_change_consumer()
        # queued handlers see the consumer gone and return at once
        return self._change_lock.run(lambda: None)

    def _stop_change_consumer(self) -> None:
        consumer, self._change_consumer = self._change_consumer, None
        if consumer is not None:
            consumer.stopConsuming()

    async def _handle_change(
        self,
        msg: dict[str, Any],
        fileIsImportant: Callable[[Any], bool] | None,
        change_filter: Any,
        onlyImportant: bool,
    ) -> None:
        if self._change_consumer is None:  # stopped while this one waited its turn
            return
        from buildbot.changes.changes import Change

        try:
            chdict: Any = msg
            if "author" not in msg:  # a bare id, not the data API's change: read it
                chdict = await self.master.db.changes.getChange(msg["changeid"])
                if chdict is None:  # pruned already
                    return
            change = await Change.fromChdict(self.master, chdict)
            if change_filter is not None and not change_filter.filter_change(change):
                return
            if change.codebase not in self.codebases:
                log.msg(
                    f"change {change.number} has codebase {change.codebase!r}, "
                    f"which scheduler {self.name!r} does not process"
                )
                return
            important = True
            if fileIsImportant is not None:
                important = bool(await defer.maybeDeferred(fileIsImportant, change))
            if not important and onlyImportant:
                return
            await defer.maybeDeferred(self.gotChange, change, important)
        except Exception:
            log.err(None, f"scheduler {self.name!r} while handling change {msg.get('changeid')}")

    def gotChange(self, change: Any, important: bool) -> defer.Deferred[None] | None:
        """A change passed the filters (see `startConsumingChanges`); subclasses act."""
        raise NotImplementedError

    def addBuildsetForChanges(
        self,
        waited_for: bool = False,
        reason: str = "",
        external_idstring: str | None = None,
        changeids: Any = (),
        builderNames: Any = None,
        properties: Any = None,
        priority: Any = None,
        **kw: Any,
    ) -> defer.Deferred[tuple[int, dict[int, int]]]:
        """Add a buildset for changes: per codebase the sourcestamp of its latest
        change, and the defaults (`getCodebaseDict`) for our codebases without one.
        Properties: the changes' (a later change wins), then `properties`, then
        the scheduler's. A callable `priority` gets (builderNames, {codebase:
        [ChangeModel]}). Fires with (bsid, {builderid: brid})."""
        return defer.ensureDeferred(
            self._addBuildsetForChanges(
                waited_for,
                reason,
                external_idstring,
                changeids,
                builderNames,
                properties,
                priority,
                **kw,
            )
        )

    async def _addBuildsetForChanges(
        self,
        waited_for: bool,
        reason: str,
        external_idstring: str | None,
        changeids: Any,
        builderNames: Any,
        properties: Any,
        priority: Any,
        **kw: Any,
    ) -> tuple[int, dict[int, int]]:
        by_codebase: dict[str, list[Any]] = {}
        for changeid in changeids:
            model = await self.master.db.changes.getChange(changeid)
            if model is None:
                raise KeyError(f"no change {changeid}")
            by_codebase.setdefault(model.codebase, []).append(model)
        stamps: list[Any] = []
        for codebase in list(self.codebases) + [c for c in by_codebase if c not in self.codebases]:
            if codebase in by_codebase:
                latest = max(by_codebase[codebase], key=lambda m: m.changeid)
                stamps.append(latest.sourcestampid)
            else:
                stamps.append(_sourcestamp(codebase, await self.getCodebaseDict(codebase)))
        props: dict[str, tuple[Any, str]] = {}
        models = [m for ms in by_codebase.values() for m in ms]
        for model in sorted(models, key=lambda m: m.changeid):
            props.update(model.properties)
        props.update(as_property_dict(properties or {}))
        if priority is None:
            priority = self.priority
        if callable(priority) and not _renderable(priority):
            given = priority

            def priority(names: list[str], _: Any) -> Any:
                return given(names, by_codebase)

        return await self.addBuildsetForSourceStamps(
            waited_for=waited_for,
            sourcestamps=stamps,
            reason=reason,
            external_idstring=external_idstring,
            properties=props,
            builderNames=builderNames,
            priority=priority,
            **kw,
        )

    # --- buildsets ------------------------------------------------------------

    def getCodebaseDict(self, codebase: str) -> defer.Deferred[dict[str, Any]]:
        """The configured defaults of `codebase` (KeyError if not configured); timed
        schedulers override it to remember the last revision they built."""
        try:
            return defer.succeed(self.codebases[codebase])
        except KeyError:
            return defer.fail()

    async def addBuildsetForSourceStampsWithDefaults(
        self,
        reason: str,
        sourcestamps: list[dict[str, Any]] | None = None,
        waited_for: bool = False,
        properties: Any = None,
        builderNames: Any = None,
        priority: Any = None,
        **kw: Any,
    ) -> tuple[int, dict[int, int]]:
        """Like `addBuildsetForSourceStamps`, with one sourcestamp per configured
        codebase: its defaults, overridden by the given sourcestamp of that codebase.
        Given sourcestamps of other codebases are added as they are."""
        given: dict[str, dict[str, Any]] = {}
        for ss in sourcestamps or []:
            codebase = ss.get("codebase", "")
            if codebase in given:
                raise ValueError(f"two sourcestamps for codebase {codebase!r}")
            given[codebase] = ss
        stamps = []
        for codebase in self.codebases:
            defaults = await self.getCodebaseDict(codebase)
            ss = _sourcestamp(codebase, defaults)
            ss.update(given.get(codebase, {}))
            stamps.append(ss)
        for codebase, ss in given.items():
            if codebase not in self.codebases:
                stamps.append({**_sourcestamp(codebase, ss), "project": ss.get("project", "")})
        return await self.addBuildsetForSourceStamps(
            waited_for=waited_for,
            sourcestamps=stamps,
            reason=reason,
            properties=properties,
            builderNames=builderNames,
            priority=priority,
            **kw,
        )

    async def addBuildsetForSourceStamps(
        self,
        waited_for: bool = False,
        sourcestamps: list[Any] | None = None,
        reason: str = "",
        external_idstring: str | None = None,
        properties: Any = None,
        builderNames: Any = None,
        priority: Any = None,
        **kw: Any,
    ) -> tuple[int, dict[int, int]]:
        """Add a buildset for `sourcestamps` (ids or dicts of codebase, repository,
        branch, revision, project) on `builderNames` (default: ours).

        `properties` is {name: (value, source)} (or an object with `asDict()` giving
        that); the scheduler's own properties, `scheduler` included, win over it.
        `kw` goes to the data API's `addBuildset` (parent_buildid...). Returns
        (bsid, {builderid: brid}).
        """
        props = as_property_dict(properties or {})
        props.update(self.properties)
        view = Properties()
        # assigned directly: setProperty would insist on JSON-able (unrendered) values
        view.properties = props
        view.master = self.master
        names = await render(builderNames or self.builderNames, view)
        builderids: list[int] = []
        for name in names:
            builderid = await self.master.data.updates.findBuilderId(name)
            if builderid not in builderids:
                builderids.append(builderid)
        rendered = {k: (await render(v, view), s) for k, (v, s) in props.items()}
        if priority is None:
            priority = self.priority
        if callable(priority) and not _renderable(priority):
            priority = priority(list(names), {})
        priority = await render(priority, view)
        return await self.master.data.updates.addBuildset(
            waited_for=waited_for,
            scheduler=self.name,
            sourcestamps=list(sourcestamps or []),
            reason=reason,
            properties=rendered,
            builderids=builderids,
            external_idstring=external_idstring,
            priority=priority or 0,
            **kw,
        )


def _sourcestamp(codebase: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "codebase": codebase,
        "repository": attrs.get("repository", ""),
        "branch": attrs.get("branch"),
        "revision": attrs.get("revision"),
        "project": "",
    }
