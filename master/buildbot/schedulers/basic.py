"""Change-driven schedulers: `SingleBranchScheduler` and `AnyBranchScheduler`.

Without a `treeStableTimer` each important change gets its own buildset at once.
With one, changes are classified (important or not) in the DB and a timer waits
until the tree has been quiet for that long; then every classified change of
the timer goes into one buildset and the classifications are flushed. Because
the classifications live in the DB, a master restarted while a timer ran arms
it again on activation and builds those changes once.

SingleBranchScheduler has one timer; AnyBranchScheduler one per (codebase,
project, repository, branch).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot import config
from buildbot.changes.filter import ChangeFilter, NotABranch
from buildbot.schedulers.base import BaseScheduler
from buildbot.util.state import StateMixin

DEFAULT_REASON = "The %(classname)s scheduler named '%(name)s' triggered this build"

#: the timer key of SingleBranchScheduler: every change shares one timer
ONE_TIMER = None

#: the state key under which createAbsoluteSourceStamps keeps the last revisions
LAST_CODEBASES = "lastCodebases"


class BaseBasicScheduler(BaseScheduler, StateMixin):
    """What both schedulers share; subclasses give `getChangeFilter` and `getTimerNameForChange`.

    Only `name` may be given positionally.
    """

    def __init__(self, name: str, *args: Any, builderNames: Any = None, **kwargs: Any) -> None:
        self.treeStableTimer: float | None = None
        self.change_filter: Any = None
        self.fileIsImportant: Callable[[Any], Any] | None = None
        self.onlyImportant = False
        self.reason = ""
        self.createAbsoluteSourceStamps = False
        # timer key -> the IDelayedCall of its tree-stable timer
        self._stable_timers: dict[Any, Any] = {}
        # gotChange and the timers' builds never interleave
        self._stable_lock = defer.DeferredLock()
        self._working = False
        self._last_codebases: dict[str, dict[str, Any]] = {}
        if args:
            config.error("pass arguments to schedulers using keyword arguments")
        super().__init__(name, builderNames, **kwargs)

    # --- configuration --------------------------------------------------------

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
        treeStableTimer: float | None = None,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        reason: str = DEFAULT_REASON,
        createAbsoluteSourceStamps: bool = False,
        branch: Any = NotABranch,
        categories: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames, properties=properties, codebases=codebases, priority=priority
        )
        owner = f"{type(self).__name__} {self.name!r}"
        if treeStableTimer is not None and not (
            isinstance(treeStableTimer, numbers.Real)
            and not isinstance(treeStableTimer, bool)
            and treeStableTimer >= 0
        ):
            config.error(f"{owner}: treeStableTimer must be None or a number of seconds >= 0")
        if fileIsImportant is not None and not callable(fileIsImportant):
            config.error(f"{owner}: fileIsImportant must be a callable")
        if not isinstance(reason, str):
            config.error(f"{owner}: reason must be a string")
        else:
            try:
                reason % {"classname": "", "name": ""}
            except (KeyError, ValueError, TypeError) as e:
                config.error(
                    f"{owner}: reason may only use %(classname)s and %(name)s "
                    f"(and %% for a percent sign): {e!r}"
                )
        ChangeFilter.fromSchedulerConstructorArgs(
            change_filter=change_filter, branch=branch, categories=categories
        )

    def applyConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None,
        codebases: Any,
        priority: Any,
        treeStableTimer: float | None,
        change_filter: Any,
        fileIsImportant: Callable[[Any], Any] | None,
        onlyImportant: bool,
        reason: str,
        createAbsoluteSourceStamps: bool,
        branch: Any,
        categories: Any,
    ) -> None:
        super().applyConfig(builderNames, properties, codebases, priority)
        ok_timer = isinstance(treeStableTimer, numbers.Real) and not isinstance(
            treeStableTimer, bool
        )
        # 0 is "no timer", as in Buildbot
        self.treeStableTimer = treeStableTimer if ok_timer and treeStableTimer else None
        self.fileIsImportant = fileIsImportant if callable(fileIsImportant) else None
        self.onlyImportant = bool(onlyImportant)
        try:
            self.reason = reason % {"classname": type(self).__name__, "name": self.name}
        except (KeyError, ValueError, TypeError):
            self.reason = str(reason)
        self.createAbsoluteSourceStamps = bool(createAbsoluteSourceStamps)
        # what checkConfig reported is not reported again: the bad part is left out
        if change_filter is not None:
            ok = hasattr(change_filter, "filter_change")
            self.change_filter = change_filter if ok else None
        elif branch is NotABranch and categories is None:
            self.change_filter = None
        else:
            self.change_filter = ChangeFilter(branch=branch, category=categories)

    # --- life cycle -----------------------------------------------------------

    async def activate(self) -> None:  # type: ignore[override]
        await super().activate()
        if not self.enabled:
            return
        if self.createAbsoluteSourceStamps:
            self._last_codebases = dict(await self.getState(LAST_CODEBASES, {}))
        self._working = True
        try:
            # the filter and the classifier are read at each change, so that a
            # reconfiguration needs no new subscription (which could miss changes)
            await self.startConsumingChanges(
                fileIsImportant=self._is_important, change_filter=self, onlyImportant=False
            )
            await self._stable_lock.run(lambda: defer.ensureDeferred(self._rearm_timers()))
        except BaseException:
            await self.deactivate()
            raise

    def filter_change(self, change: Any) -> bool:
        """The configured change filter (so `self` serves as the consumer's filter)."""
        return self.change_filter is None or self.change_filter.filter_change(change)

    def _is_important(self, change: Any) -> Any:
        if self.fileIsImportant is None:
            return True
        return self.fileIsImportant(change)

    async def deactivate(self) -> None:  # type: ignore[override]
        # no new change, then no timer, then the build in hand (if any) finishes
        await self.stopConsumingChanges()
        self._working = False
        timers, self._stable_timers = self._stable_timers, {}
        for timer in timers.values():
            if timer.active():
                timer.cancel()
        await self._stable_lock.run(lambda: None)
        await super().deactivate()

    def getPendingBuildTimes(self) -> list[float]:
        return [t.getTime() for t in self._stable_timers.values() if t.active()]

    # --- changes --------------------------------------------------------------

    def getTimerNameForChange(self, change: Any) -> Any:
        """The key of the tree-stable timer `change` (a Change or ChangeModel) restarts."""
        raise NotImplementedError

    def _classification_filter(self, key: Any) -> dict[str, Any]:
        """getChangeClassifications arguments selecting the changes of timer `key`."""
        return {}

    def gotChange(self, change: Any, important: bool) -> defer.Deferred[None]:
        return self._stable_lock.run(
            lambda: defer.ensureDeferred(self._got_change(change, important))
        )

    async def _got_change(self, change: Any, important: bool) -> None:
        if not self._working or (self.onlyImportant and not important):
            return
        if self.createAbsoluteSourceStamps:
            await self._remember_codebase(change)
        if self.treeStableTimer is None:
            # nothing accumulates: unimportant changes are simply not built
            if important:
                await self.addBuildsetForChanges(reason=self.reason, changeids=[change.number])
            return
        await self.master.db.schedulers.classifyChanges(self.serviceid, {change.number: important})
        key = self.getTimerNameForChange(change)
        # any change makes the tree unstable again; only an important one starts a wait
        if important or key in self._stable_timers:
            self._arm(key, self.treeStableTimer)

    def _arm(self, key: Any, delay: float) -> None:
        timer = self._stable_timers.get(key)
        if timer is not None and timer.active():
            timer.reset(delay)
            return
        self._stable_timers[key] = self.master.reactor.callLater(delay, self._timer_fired, key)

    def _timer_fired(self, key: Any) -> defer.Deferred[None]:
        self._stable_timers.pop(key, None)
        d = self._stable_lock.run(lambda: defer.ensureDeferred(self._build_stable(key)))
        d.addErrback(log.err, f"scheduler {self.name!r}: building changes of timer {key!r}")
        return d

    async def _build_stable(self, key: Any) -> None:
        if not self._working:
            return
        classified = await self.master.db.schedulers.getChangeClassifications(
            self.serviceid, **self._classification_filter(key)
        )
        if not any(classified.values()):
            return
        changeids = sorted(classified)
        await self.addBuildsetForChanges(reason=self.reason, changeids=changeids)
        await self._flush(key, changeids)

    async def _flush(self, key: Any, changeids: list[int]) -> None:
        """Forget the classifications of `changeids`, the changes of timer `key`."""
        db = self.master.db.schedulers
        if self._classification_filter(key):
            # other timers' changes stay classified
            await db.flushChangeClassifications(self.serviceid, changeids=changeids)
        else:
            await db.flushChangeClassifications(self.serviceid, less_than=changeids[-1] + 1)

    async def _rearm_timers(self) -> None:
        """Timers for the changes classified before a restart (built when due)."""
        classified = await self.master.db.schedulers.getChangeClassifications(self.serviceid)
        important_keys = []
        for changeid, important in sorted(classified.items()):
            if not important:
                continue
            model = await self.master.db.changes.getChange(changeid)
            if model is None:
                continue
            key = self.getTimerNameForChange(model)
            if key not in important_keys:
                important_keys.append(key)
        for key in important_keys:
            self._arm(key, self.treeStableTimer or 0)

    # --- absolute sourcestamps ------------------------------------------------------

    async def _remember_codebase(self, change: Any) -> None:
        last = self._last_codebases.get(change.codebase)
        if last is not None and last.get("lastChange", -1) > change.number:
            return
        self._last_codebases[change.codebase] = {
            "repository": change.repository,
            "branch": change.branch,
            "revision": change.revision,
            "lastChange": change.number,
        }
        await self.setState(LAST_CODEBASES, self._last_codebases)

    def getCodebaseDict(self, codebase: str) -> defer.Deferred[dict[str, Any]]:
        if self.createAbsoluteSourceStamps and codebase in self._last_codebases:
            return defer.succeed(self._last_codebases[codebase])
        return super().getCodebaseDict(codebase)


class SingleBranchScheduler(BaseBasicScheduler):
    """`SingleBranchScheduler(name, builderNames=..., treeStableTimer=None,
    change_filter=None, branch=<unset>, ...)`: needs `change_filter` or `branch`."""

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
        treeStableTimer: float | None = None,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        reason: str = DEFAULT_REASON,
        createAbsoluteSourceStamps: bool = False,
        branch: Any = NotABranch,
        categories: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames,
            properties=properties,
            codebases=codebases,
            priority=priority,
            treeStableTimer=treeStableTimer,
            change_filter=change_filter,
            fileIsImportant=fileIsImportant,
            onlyImportant=onlyImportant,
            reason=reason,
            createAbsoluteSourceStamps=createAbsoluteSourceStamps,
            branch=branch,
            categories=categories,
        )
        if change_filter is None and branch is NotABranch:
            config.error(
                f"SingleBranchScheduler {self.name!r}: the 'branch' argument (or a "
                "change_filter) is required; use branch=None for the default branch"
            )

    def getTimerNameForChange(self, change: Any) -> Any:
        return ONE_TIMER


class AnyBranchScheduler(BaseBasicScheduler):
    """`AnyBranchScheduler(name, builderNames=..., treeStableTimer=None,
    change_filter=None, branches=<unset>, ...)`: a timer per (codebase, project,
    repository, branch)."""

    def __init__(self, name: str, *args: Any, branch: Any = NotABranch, **kwargs: Any) -> None:
        if branch is not NotABranch:
            config.error(f"AnyBranchScheduler {name!r}: takes `branches`, not `branch`")
        super().__init__(name, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
        treeStableTimer: float | None = None,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        reason: str = DEFAULT_REASON,
        branches: Any = NotABranch,
        categories: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames,
            properties=properties,
            codebases=codebases,
            priority=priority,
            treeStableTimer=treeStableTimer,
            change_filter=change_filter,
            fileIsImportant=fileIsImportant,
            onlyImportant=onlyImportant,
            reason=reason,
            branch=branches,
            categories=categories,
        )

    def applyConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        properties: dict[str, Any] | None,
        codebases: Any,
        priority: Any,
        treeStableTimer: float | None,
        change_filter: Any,
        fileIsImportant: Callable[[Any], Any] | None,
        onlyImportant: bool,
        reason: str,
        branches: Any,
        categories: Any,
    ) -> None:
        super().applyConfig(
            builderNames,
            properties,
            codebases,
            priority,
            treeStableTimer,
            change_filter,
            fileIsImportant,
            onlyImportant,
            reason,
            createAbsoluteSourceStamps=False,
            branch=branches,
            categories=categories,
        )

    def getTimerNameForChange(self, change: Any) -> Any:
        return (change.codebase, change.project, change.repository, change.branch)

    def _classification_filter(self, key: Any) -> dict[str, Any]:
        codebase, project, repository, branch = key
        return {
            "codebase": codebase,
            "project": project,
            "repository": repository,
            "branch": branch,
        }
