"""Timed schedulers: `Periodic` (every N seconds), `Nightly` (cron-like, in the
master's local time) and `NightlyTriggerable` (a nightly build of what a
`Trigger` step last asked for).

One timer per scheduler: at each actuation the scheduled time is saved as the
state ``last_build`` and the next time is computed from it, so a restarted
master re-arms from there. A time already past when the timer is armed (a run
missed while the master was down) fires at once, a single time however many
runs were missed, as Buildbot does.

With `onlyIfChanged` the scheduler classifies the changes it sees (in the
``scheduler_changes`` table) and at its time builds only if one of them is
important. The first run of a new scheduler, and the first after
`onlyIfChanged` was switched on (state ``last_only_if_changed``), build anyway;
so does a `Nightly` run whose time matches its ``force_at_*`` spec.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

from croniter import croniter
from twisted.internet import defer
from twisted.python import log
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.data.properties import as_property_dict
from buildbot.process.results import SUCCESS
from buildbot.schedulers.base import BaseScheduler, DisabledSchedulerError
from buildbot.util.state import StateMixin


class NoBranch:
    """`branch` not given: changes of every branch count (None is the default branch)."""


class Timed(StateMixin, BaseScheduler):
    """The timer, the change bookkeeping and the build of timed schedulers.

    Subclasses give `getNextBuildTime(lastActuated)`: the epoch time of the next
    run after the one at `lastActuated` (None: never ran), or None for never.
    """

    NoBranch = NoBranch

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        self.reason = ""
        self.onlyIfChanged = False
        self.createAbsoluteSourceStamps = False
        self.branch: Any = NoBranch
        self.change_filter: Any = None
        self.fileIsImportant: Callable[[Any], Any] | None = None
        self.onlyImportant = False
        # the time of the last run (saved as 'last_build') and of the next one
        self.lastActuated: float | None = None
        self.actuateAt: float | None = None
        self._timer: Any = None
        # False outside activate/deactivate: a timer that fires late does nothing
        self._actuate_ok = False
        # one actuation or re-arming at a time; deactivate waits for a running one
        self._actuation_lock = defer.DeferredLock()
        self._first_build = False
        self._last_codebases: dict[str, dict[str, Any]] | None = None
        super().__init__(name, builderNames, *args, **kwargs)

    # --- configuration --------------------------------------------------------

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        reason: str = "",
        createAbsoluteSourceStamps: bool = False,
        onlyIfChanged: bool = False,
        branch: Any = NoBranch,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames, properties=properties, codebases=codebases, priority=priority
        )
        owner = f"{type(self).__name__} {self.name!r}"
        if not isinstance(reason, str):
            config.error(f"{owner}: reason must be a string")
        else:
            try:
                self._format_reason(reason)
            except (KeyError, ValueError, TypeError) as e:
                config.error(f"{owner}: reason {reason!r} cannot be formatted: {e!r}")
        if fileIsImportant is not None and not callable(fileIsImportant):
            config.error(f"{owner}: fileIsImportant must be a callable")
        if change_filter is not None and not hasattr(change_filter, "filter_change"):
            config.error(f"{owner}: change_filter must be a ChangeFilter")

    def _format_reason(self, reason: str) -> str:
        return reason % {"name": self.name, "classname": type(self).__name__}

    def applyConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        reason: str,
        createAbsoluteSourceStamps: bool,
        onlyIfChanged: bool,
        branch: Any,
        change_filter: Any,
        fileIsImportant: Callable[[Any], Any] | None,
        onlyImportant: bool,
        properties: dict[str, Any] | None,
        codebases: Any,
        priority: Any,
    ) -> None:
        super().applyConfig(builderNames, properties, codebases, priority)
        try:
            self.reason = self._format_reason(reason)
        except (KeyError, ValueError, TypeError):  # reported by checkConfig
            self.reason = str(reason)
        self.createAbsoluteSourceStamps = bool(createAbsoluteSourceStamps)
        self.onlyIfChanged = bool(onlyIfChanged)
        self.branch = branch
        self.change_filter = change_filter
        self.fileIsImportant = fileIsImportant if callable(fileIsImportant) else None
        self.onlyImportant = bool(onlyImportant)

    def reconfigService(self, *args: Any, **kwargs: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(*args, **kwargs))

    async def _reconfig(self, *args: Any, **kwargs: Any) -> None:
        # the timer and the change filter follow the new configuration; the saved
        # state (last build, trigger) carries the rest over
        restart = self.isActive() and self.enabled
        if restart:
            await self.deactivate()
        await super().reconfigService(*args, **kwargs)
        if restart:
            await self.activate()

    # --- life cycle -----------------------------------------------------------

    async def activate(self) -> None:  # type: ignore[override]
        await super().activate()
        if not self.enabled:
            return
        self._actuate_ok = True
        try:
            self.lastActuated = await self.getState("last_build", None)
            self._first_build = self.lastActuated is None
            if self.onlyIfChanged or self.createAbsoluteSourceStamps:
                await self.startConsumingChanges(
                    fileIsImportant=self.fileIsImportant,
                    change_filter=self.change_filter,
                    onlyImportant=self.onlyImportant,
                )
            else:
                # changes seen while onlyIfChanged was on have nothing to say now
                await self.master.db.schedulers.flushChangeClassifications(self.serviceid)
            await self.scheduleNextBuild()
        except BaseException:
            # the next claim poll tries again from a clean slate
            await self.deactivate()
            raise

    async def deactivate(self) -> None:  # type: ignore[override]
        if self.enabled:

            def stop() -> None:
                self._actuate_ok = False
                self.actuateAt = None
                self._cancel_timer()

            await self._actuation_lock.run(stop)
        await super().deactivate()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    # --- the timer ------------------------------------------------------------

    def now(self) -> float:
        return self.master.reactor.seconds()

    def getNextBuildTime(self, lastActuated: float | None) -> Any:
        """The epoch time of the next run (a value or a Deferred), None for never."""
        raise NotImplementedError

    def getPendingBuildTimes(self) -> list[float]:
        return [self.actuateAt] if self.actuateAt is not None else []

    def scheduleNextBuild(self) -> defer.Deferred[None]:
        """(Re-)arm the timer from `getNextBuildTime`."""
        return self._actuation_lock.run(lambda: defer.ensureDeferred(self._arm()))

    async def _arm(self) -> None:
        # called with the actuation lock held
        self._cancel_timer()
        at = await defer.maybeDeferred(self.getNextBuildTime, self.lastActuated)
        if at is None or not self._actuate_ok:
            self.actuateAt = None
            return
        now = self.now()
        if at < now:
            log.msg(
                f"{type(self).__name__} scheduler {self.name!r}: "
                "missed its scheduled time, building now"
            )
        self.actuateAt = max(at, now)
        self._timer = self.master.reactor.callLater(self.actuateAt - now, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        d = self._actuation_lock.run(lambda: defer.ensureDeferred(self._actuate()))
        d.addErrback(log.err, f"while actuating scheduler {self.name!r}")

    async def _actuate(self) -> None:
        if not self._actuate_ok or self.actuateAt is None:
            return
        self.lastActuated, self.actuateAt = self.actuateAt, None
        await self.setState("last_build", self.lastActuated)
        try:
            await self.startBuild()
        except Exception:
            log.err(None, f"scheduler {self.name!r} while starting a build")
        finally:
            await self._arm()

    # --- changes and builds ---------------------------------------------------

    async def gotChange(self, change: Any, important: bool) -> None:  # type: ignore[override]
        # the change filter does not look at `branch`: it is checked here
        if self.branch is not NoBranch and change.branch != self.branch:
            return
        await self.master.db.schedulers.classifyChanges(
            self.serviceid, {change.number: bool(important)}
        )
        if self.createAbsoluteSourceStamps:
            await self._record_change(change)

    def _force_build(self, actuated_at: float | None) -> bool:
        """Whether the run at `actuated_at` builds even without an important change."""
        return False

    async def startBuild(self) -> None:
        """The run at `lastActuated`: build, unless onlyIfChanged says there is
        nothing to build."""
        if not self.enabled:
            log.msg(f"scheduler {self.name!r} is disabled: no build")
            return
        schedulers = self.master.db.schedulers
        classifications = await schedulers.getChangeClassifications(self.serviceid)
        last_only_if_changed = await self.getState("last_only_if_changed", True)
        first_build, self._first_build = self._first_build, False
        if (
            self.onlyIfChanged
            and last_only_if_changed
            and not first_build
            and not any(classifications.values())
            and not self._force_build(self.lastActuated)
        ):
            log.msg(f"scheduler {self.name!r}: no important change, no build")
            return
        if last_only_if_changed != self.onlyIfChanged:
            await self.setState("last_only_if_changed", self.onlyIfChanged)
        changeids = sorted(classifications)
        if changeids:
            await self.addBuildsetForChanges(reason=self.reason, changeids=changeids)
            await schedulers.flushChangeClassifications(self.serviceid, less_than=changeids[-1] + 1)
        else:
            await self.addBuildsetForSourceStampsWithDefaults(
                self.reason, sourcestamps=[{"codebase": cb} for cb in self.codebases]
            )

    # --- absolute sourcestamps -----------------------------------------------

    async def _load_codebases(self) -> dict[str, dict[str, Any]]:
        if self._last_codebases is None:
            self._last_codebases = dict(await self.getState("lastCodebases", {}))
        return self._last_codebases

    async def _record_change(self, change: Any) -> None:
        """Remember the change's revision as the latest of its codebase."""
        seen = await self._load_codebases()
        last = seen.get(change.codebase, {})
        if last.get("lastChange", -1) >= change.number:
            return
        seen[change.codebase] = {
            "repository": change.repository,
            "branch": change.branch,
            "revision": change.revision,
            "lastChange": change.number,
        }
        await self.setState("lastCodebases", seen)

    def getCodebaseDict(self, codebase: str) -> defer.Deferred[dict[str, Any]]:
        if not self.createAbsoluteSourceStamps:
            return super().getCodebaseDict(codebase)
        return defer.ensureDeferred(self._absolute_codebase(codebase))

    async def _absolute_codebase(self, codebase: str) -> dict[str, Any]:
        attrs = dict(self.codebases[codebase])  # KeyError: not one of ours
        seen = (await self._load_codebases()).get(codebase)
        if seen:
            attrs.update({k: v for k, v in seen.items() if k != "lastChange"})
        return attrs


class Periodic(Timed):
    """`Periodic(name, builderNames, periodicBuildTimer, ...)`: a build every
    `periodicBuildTimer` seconds, the first one as soon as the scheduler starts."""

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        self.periodicBuildTimer: float = 0
        super().__init__(name, builderNames, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        periodicBuildTimer: float,
        reason: str = "The Periodic scheduler named '%(name)s' triggered this build",
        onlyIfChanged: bool = False,
        branch: Any = NoBranch,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        createAbsoluteSourceStamps: bool = False,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
    ) -> None:
        super().checkConfig(
            builderNames,
            reason=reason,
            createAbsoluteSourceStamps=createAbsoluteSourceStamps,
            onlyIfChanged=onlyIfChanged,
            branch=branch,
            change_filter=change_filter,
            fileIsImportant=fileIsImportant,
            onlyImportant=onlyImportant,
            properties=properties,
            codebases=codebases,
            priority=priority,
        )
        if (
            not isinstance(periodicBuildTimer, (int, float))
            or isinstance(periodicBuildTimer, bool)
            or periodicBuildTimer <= 0
        ):
            config.error(
                f"Periodic {self.name!r}: periodicBuildTimer must be a positive number "
                f"of seconds, not {periodicBuildTimer!r}"
            )

    def applyConfig(self, periodicBuildTimer: Any, **common: Any) -> None:  # type: ignore[override]
        ok = isinstance(periodicBuildTimer, (int, float)) and periodicBuildTimer > 0
        self.periodicBuildTimer = periodicBuildTimer if ok else 1
        super().applyConfig(**common)

    def getNextBuildTime(self, lastActuated: float | None) -> float:
        if lastActuated is None:
            return self.now()
        return lastActuated + self.periodicBuildTimer


# --- cron arithmetic --------------------------------------------------------------


def cron_field(value: Any, day_of_week: bool = False) -> str:
    """One field of a crontab line from a Nightly argument: an int, a list of
    ints, or a cron-style string. Buildbot numbers days of the week from
    Monday = 0, cron from Sunday = 0: ints (also the plain numbers of a
    comma-separated string) are shifted; ranges and names are cron's."""

    def one(v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{v!r} is not an int")
        if not day_of_week:
            return str(v)
        if not 0 <= v <= 6:
            raise ValueError(f"day of week {v} is not in 0 (Monday) .. 6 (Sunday)")
        return str((v + 1) % 7)

    if isinstance(value, str):
        if not day_of_week:
            return value
        items = value.split(",")
        return ",".join(one(int(i)) if i.strip().isdigit() else i for i in items)
    if isinstance(value, int) and not isinstance(value, bool):
        return one(value)
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if isinstance(value, (list, tuple, range)) and len(value) > 0:
        return ",".join(one(v) for v in value)
    raise ValueError(f"{value!r} is not an int, a list of ints or a cron string")


def cron_line(minute: Any, hour: Any, dayOfMonth: Any, month: Any, dayOfWeek: Any) -> str:
    return " ".join(
        [
            cron_field(minute),
            cron_field(hour),
            cron_field(dayOfMonth),
            cron_field(month),
            cron_field(dayOfWeek, day_of_week=True),
        ]
    )


def _local(ts: float) -> datetime.datetime:
    # naive local wall-clock time: croniter then steps in wall-clock terms, and
    # mktime maps the result back with the local DST rules
    return datetime.datetime.fromtimestamp(ts)


def next_cron_time(line: str, after: float) -> float:
    """The first epoch time after `after` whose local time matches `line`."""
    it = croniter(line, _local(after))
    for _ in range(10):
        nxt = it.get_next(datetime.datetime)
        at = time.mktime(nxt.timetuple())
        # an hour repeated when DST ends maps to its first (earlier) instant
        if at > after:
            return at
    raise RuntimeError(f"no time after {after} matches {line!r}")  # pragma: no cover


def matches_cron(line: str, ts: float) -> bool:
    return bool(croniter.match(line, _local(ts)))


_NIGHTLY_FIELDS = ("minute", "hour", "dayOfMonth", "month", "dayOfWeek")
_FORCE_FIELDS = (
    "force_at_minute",
    "force_at_hour",
    "force_at_day_of_month",
    "force_at_month",
    "force_at_day_of_week",
)
# unset force_at_* fields, when another one is set
_FORCE_DEFAULTS = (0, "*", "*", "*", "*")


class NightlyBase(Timed):
    """The cron arithmetic of Nightly and NightlyTriggerable."""

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        self.minute: Any = 0
        self.hour: Any = "*"
        self.dayOfMonth: Any = "*"
        self.month: Any = "*"
        self.dayOfWeek: Any = "*"
        self.force_at_enabled = False
        self.force_at_minute: Any = 0
        self.force_at_hour: Any = "*"
        self.force_at_day_of_month: Any = "*"
        self.force_at_month: Any = "*"
        self.force_at_day_of_week: Any = "*"
        super().__init__(name, builderNames, *args, **kwargs)

    def _check_cron(self, what: str, fields: tuple[Any, ...]) -> None:
        owner = f"{type(self).__name__} {self.name!r}"
        try:
            line = cron_line(*fields)
        except ValueError as e:
            config.error(f"{owner}: bad {what}: {e}")
            return
        if not croniter.is_valid(line):
            config.error(f"{owner}: bad {what}: {line!r} is not a valid cron specification")

    def _check_nightly(self, arguments: dict[str, Any]) -> None:
        """checkConfig of the subclasses, given their arguments."""
        times, common = _split(arguments)
        Timed.checkConfig(self, **common)
        self._check_cron("time", tuple(times[f] for f in _NIGHTLY_FIELDS))
        if any(times[f] is not None for f in _FORCE_FIELDS):
            self._check_cron("force_at_* time", self._force_fields(times))

    def applyConfig(self, **arguments: Any) -> None:  # type: ignore[override]
        times, common = _split(arguments)
        super().applyConfig(**common)
        for f in _NIGHTLY_FIELDS:
            setattr(self, f, times[f])
        self.force_at_enabled = any(times[f] is not None for f in _FORCE_FIELDS)
        for f, v in zip(_FORCE_FIELDS, self._force_fields(times), strict=True):
            setattr(self, f, v)

    @staticmethod
    def _force_fields(times: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            d if times[f] is None else times[f]
            for f, d in zip(_FORCE_FIELDS, _FORCE_DEFAULTS, strict=True)
        )

    def _cron_line(self) -> str:
        return cron_line(*(getattr(self, f) for f in _NIGHTLY_FIELDS))

    def getNextBuildTime(self, lastActuated: float | None) -> float:
        after = lastActuated if lastActuated is not None else self.now()
        return next_cron_time(self._cron_line(), after)

    def _force_build(self, actuated_at: float | None) -> bool:
        if not self.force_at_enabled or actuated_at is None:
            return False
        line = cron_line(*(getattr(self, f) for f in _FORCE_FIELDS))
        return matches_cron(line, actuated_at)


def _arguments(names: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a method from its `locals()`."""
    return {k: v for k, v in names.items() if k not in ("self", "__class__")}


def _split(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Nightly time arguments, the others) of a bound argument dict."""
    times = {k: arguments.pop(k) for k in (*_NIGHTLY_FIELDS, *_FORCE_FIELDS)}
    return times, arguments


class Nightly(NightlyBase):
    """`Nightly(name, builderNames, minute=0, hour='*', dayOfMonth='*', month='*',
    dayOfWeek='*', ...)`: builds when the master's local time matches."""

    _default_reason = "The Nightly scheduler named '%(name)s' triggered this build"

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        minute: Any = 0,
        hour: Any = "*",
        dayOfMonth: Any = "*",
        month: Any = "*",
        dayOfWeek: Any = "*",
        reason: str = _default_reason,
        force_at_minute: Any = None,
        force_at_hour: Any = None,
        force_at_day_of_month: Any = None,
        force_at_month: Any = None,
        force_at_day_of_week: Any = None,
        onlyIfChanged: bool = False,
        branch: Any = NoBranch,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        createAbsoluteSourceStamps: bool = False,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
    ) -> None:
        self._check_nightly(_arguments(locals()))


@implementer(interfaces.ITriggerableScheduler)
class NightlyTriggerable(NightlyBase):
    """Like Nightly, but each run builds the sourcestamps and properties of the
    last `trigger()` since the previous run, and nothing if there was none.

    `trigger()` only records the request (state ``lastTrigger``): its Deferreds
    fire at once, with (None, {}) and (SUCCESS, {}), as in Buildbot, so that a
    Trigger step does not hold its build until the nightly time.
    """

    _default_reason = "The NightlyTriggerable scheduler named '%(name)s' triggered this build"

    def __init__(self, name: str, builderNames: Any, *args: Any, **kwargs: Any) -> None:
        # (sourcestamps, {name: (value, source)}, parent_buildid, parent_relationship)
        self._lastTrigger: tuple[list[Any], dict[str, Any], Any, Any] | None = None
        self._trigger_lock = defer.DeferredLock()
        super().__init__(name, builderNames, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        builderNames: Any,
        minute: Any = 0,
        hour: Any = "*",
        dayOfMonth: Any = "*",
        month: Any = "*",
        dayOfWeek: Any = "*",
        reason: str = _default_reason,
        force_at_minute: Any = None,
        force_at_hour: Any = None,
        force_at_day_of_month: Any = None,
        force_at_month: Any = None,
        force_at_day_of_week: Any = None,
        onlyIfChanged: bool = False,
        branch: Any = NoBranch,
        change_filter: Any = None,
        fileIsImportant: Callable[[Any], Any] | None = None,
        onlyImportant: bool = False,
        createAbsoluteSourceStamps: bool = False,
        properties: dict[str, Any] | None = None,
        codebases: Any = None,
        priority: Any = None,
    ) -> None:
        self._check_nightly(_arguments(locals()))

    async def activate(self) -> None:  # type: ignore[override]
        await super().activate()
        if not self.enabled:
            return
        saved = await self.getState("lastTrigger", None)
        self._lastTrigger = None
        if saved:
            try:
                stamps, props, parent_buildid, parent_relationship = saved
                if isinstance(stamps, dict):  # the form of Buildbot before 0.9
                    stamps = list(stamps.values())
                if not isinstance(stamps, list):
                    raise TypeError(stamps)
                self._lastTrigger = (
                    stamps,
                    as_property_dict(props or {}),
                    parent_buildid,
                    parent_relationship,
                )
            except (TypeError, ValueError, AttributeError, IndexError):
                log.msg(f"NightlyTriggerable {self.name!r}: unreadable saved trigger, ignored")

    def trigger(
        self,
        waited_for: bool,
        sourcestamps: list[dict[str, Any]] | None = None,
        set_props: Any = None,
        parent_buildid: int | None = None,
        parent_relationship: str | None = None,
    ) -> tuple[defer.Deferred[tuple[Any, dict[int, int]]], defer.Deferred[Any]]:
        """Record the request for the next run; returns (Deferred of (None, {}),
        Deferred of (SUCCESS, {}) once the request is saved)."""
        if not self.enabled:
            error = DisabledSchedulerError(f"scheduler {self.name!r} is disabled")
            return defer.fail(error), defer.fail(error)
        props = as_property_dict(set_props or {})
        trigger = (list(sourcestamps or []), props, parent_buildid, parent_relationship)
        self._lastTrigger = trigger
        saved = self._trigger_lock.run(self._save_trigger, trigger)
        return defer.succeed((None, {})), saved.addCallback(lambda _: (SUCCESS, {}))

    def _save_trigger(self, trigger: tuple[Any, ...] | None) -> defer.Deferred[None]:
        if trigger is None:
            return self.setState("lastTrigger", None)
        stamps, props, parent_buildid, parent_relationship = trigger
        as_json = {k: [v, s] for k, (v, s) in props.items()}
        return self.setState("lastTrigger", [stamps, as_json, parent_buildid, parent_relationship])

    async def startBuild(self) -> None:
        if not self.enabled:
            log.msg(f"scheduler {self.name!r} is disabled: no build")
            return
        trigger, self._lastTrigger = self._lastTrigger, None
        if trigger is None:
            return
        await self._trigger_lock.run(self._save_trigger, None)
        stamps, props, parent_buildid, parent_relationship = trigger
        await self.addBuildsetForSourceStampsWithDefaults(
            self.reason,
            sourcestamps=stamps,
            properties=props,
            parent_buildid=parent_buildid,
            parent_relationship=parent_relationship,
        )
