"""BuildStep: one step of a build, and the mixins custom steps are made of.

The object a master.cfg creates is a description: its constructor arguments are
recorded (`__new__`) and every build makes a fresh instance from them
(`get_step_factory().buildStep()`). The build then drives the instance:

    step.setBuild(build); step.setWorker(worker); step.setDefaultWorkdir(workdir)
    results = await step.startStep(build.conn)

`startStep` creates the step in the data API, renders it, decides whether it
runs (`doStepIf`), takes its locks, calls `run()`, maps exceptions to results,
finishes its logs and the step, and returns the result.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.python import failure
from twisted.python import log as twlog
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.locks import BaseLockId, LockAccess
from buildbot.process import locks as real_locks
from buildbot.process import remotecommand
from buildbot.process.log import Log
from buildbot.process.properties import PropertiesMixin
from buildbot.process.renderables import MissingSecretError
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
    Results,
)
from buildbot.util import ComparableMixin, debounce, flatten

__all__ = [
    "BuildStep",
    "BuildStepCancelled",
    "BuildStepFailed",
    "CommandMixin",
    "ShellMixin",
    "WorkerSetupError",
]


class BuildStepFailed(Exception):
    """Raised by `run()` to end the step with FAILURE."""


class BuildStepCancelled(Exception):
    """Raised by `run()` to end the step with CANCELLED."""


class WorkerSetupError(Exception):
    """The worker cannot run what the step needs (a missing command...)."""


class CallableAttributeError(Exception):
    pass


@implementer(interfaces.IBuildStepFactory)
class _BuildStepFactory(ComparableMixin):
    """Makes a fresh step for each build from the recorded constructor arguments."""

    compare_attrs = ("factory", "args", "kwargs")

    def __init__(self, step_class: type, *args: Any, **kwargs: Any) -> None:
        self.factory = step_class
        self.args = args
        self.kwargs = kwargs

    def buildStep(self) -> BuildStep:
        try:
            step = self.factory(*self.args, **self.kwargs)
        except Exception:
            twlog.msg(f"error while creating step, factory={self.factory!r}")
            raise
        object.__setattr__(step, "_in_build", True)
        return step

    def __repr__(self) -> str:
        return f"_BuildStepFactory({self.factory.__name__}, {self.args!r}, {self.kwargs!r})"


class _StepMeta(type):
    """Marks an instance as configured once its whole `__init__` has run."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__call__(*args, **kwargs)
        object.__setattr__(obj, "_init_completed", True)
        return obj


_BOOL_KWARGS = (
    "haltOnFailure",
    "flunkOnWarnings",
    "flunkOnFailure",
    "warnOnWarnings",
    "warnOnFailure",
    "alwaysRun",
)
_COMMON_KWARGS = (
    "name",
    "description",
    "descriptionDone",
    "descriptionSuffix",
    "locks",
    *_BOOL_KWARGS,
    "doStepIf",
    "hideStepIf",
    "workdir",
    "logEncoding",
    "updateBuildSummaryPolicy",
    "progressMetrics",
    "useProgress",
)


def _is_renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


def _as_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _collect_renderables(cls: type) -> list[str]:
    """The `renderables` of the class and all its bases (lists accumulate)."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in klass.__dict__.get("renderables", ()):
            if name not in names:
                names.append(name)
    return names


@implementer(interfaces.IBuildStep)
class BuildStep(PropertiesMixin, metaclass=_StepMeta):
    """The base of all steps; new-style steps implement an async `run()`."""

    name: Any = "generic"
    description: Any = None
    descriptionDone: Any = None
    descriptionSuffix: Any = None
    locks: list[Any] = []
    haltOnFailure: Any = False
    flunkOnWarnings: Any = False
    flunkOnFailure: Any = True
    warnOnWarnings: Any = False
    warnOnFailure: Any = False
    alwaysRun: Any = False
    doStepIf: Any = True
    hideStepIf: Any = False
    logEncoding: str | None = None
    updateBuildSummaryPolicy: Any = None
    progressMetrics: tuple = ()
    useProgress = True
    set_runtime_properties = True
    renderables: list[str] = [
        *_BOOL_KWARGS,
        "description",
        "descriptionDone",
        "descriptionSuffix",
        "updateBuildSummaryPolicy",
    ]
    # seconds between state-string updates while running
    summary_debounce = 1.0

    def __new__(cls, *args: Any, **kwargs: Any) -> BuildStep:
        self = object.__new__(cls)
        object.__setattr__(self, "_factory", _BuildStepFactory(cls, *args, **kwargs))
        return self

    def __init__(self, **kwargs: Any) -> None:
        for key in list(kwargs):
            if key in _COMMON_KWARGS:
                setattr(self, key, kwargs.pop(key))
        if kwargs:
            config.error(
                f"{type(self).__name__}.__init__ got unexpected keyword argument(s) "
                f"{', '.join(sorted(kwargs))}"
            )
        self._check_config()
        self.build: Any = None
        self.master: Any = None
        self.worker: Any = None
        self.remote: Any = None
        self.stepid: int | None = None
        self.number: int | None = None
        self.results: int | None = None
        self.stopped = False
        self.rendered = False
        self.timed_out = False
        self.max_lines_reached = False
        self.logs: dict[str, Any] = {}
        self.cmd: Any = None
        self.statistics: dict[str, Any] = {}
        self.hidden = False
        self._running = False
        self._clear_locks_acquired = False
        self._log_observers: list[tuple[str, Any]] = []
        self._lock_set: list[Any] = []
        self._locks_acquired = False
        self._lock_wait: defer.Deferred[None] | None = None
        self._pending_ops: set[defer.Deferred[Any]] = set()
        self._test_results: dict[int, list[dict[str, Any]]] = {}
        self._oldstyle_done: defer.Deferred[int] | None = None
        # why the step could not run, when that replaces its own summary
        self._failure_summary: str | None = None

    def _check_config(self) -> None:
        name = self.name
        if not _is_renderable(name):
            if not isinstance(name, str):
                config.error(f"BuildStep name must be a string or a renderable: {name!r}")
            elif len(name) > 50:
                config.error(f"BuildStep name must not be longer than 50 characters: {name!r}")
        for key in _BOOL_KWARGS:
            value = getattr(self, key)
            if not _is_renderable(value) and not isinstance(value, bool):
                config.error(f"{type(self).__name__} argument {key} must be a bool: {value!r}")
        for key in ("description", "descriptionDone", "descriptionSuffix"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str | list | tuple):
                if not _is_renderable(value):
                    config.error(f"{key} must be a string or a list: {value!r}")
        policy = self.updateBuildSummaryPolicy
        if policy not in (None, True, False) and not isinstance(policy, list):
            if not _is_renderable(policy):
                config.error(
                    "BuildStep updateBuildSummaryPolicy must be a list of results, "
                    f"True, False or None: {policy!r}"
                )
        locks = self.locks
        if not isinstance(locks, list | tuple):
            config.error(f"BuildStep locks must be a list: {locks!r}")
        else:
            for lock in locks:
                if not isinstance(lock, BaseLockId | LockAccess):
                    config.error(f"BuildStep locks must be locks or lock accesses: {lock!r}")

    # --- the factory -------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if d.get("_init_completed") and not d.get("_in_build"):
            config.error(
                f"Changes to attributes of a configured {type(self).__name__} are ignored "
                f"(attribute {name!r}): use set_step_arg(name, value)"
            )
            return
        object.__setattr__(self, name, value)

    def get_step_factory(self) -> _BuildStepFactory:
        return self._factory

    def set_step_arg(self, name: str, value: Any) -> None:
        self._factory.kwargs[name] = value
        # a throw-away instance checks the new argument
        self._factory.buildStep()

    def is_exact_step_class(self, cls: type) -> bool:
        return type(self) is cls

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # --- set-up by the build -----------------------------------------------------------

    def _enter_build(self) -> None:
        object.__setattr__(self, "_in_build", True)

    def setBuild(self, build: Any) -> None:
        self._enter_build()
        self.build = build
        self.master = build.master

    def setWorker(self, worker: Any) -> None:
        self._enter_build()
        self.worker = worker

    def setDefaultWorkdir(self, workdir: Any) -> None:
        self._enter_build()
        if self.__dict__.get("_workdir") is None:
            self._workdir = workdir

    @property
    def workdir(self) -> Any:
        own = self.__dict__.get("_workdir")
        if own is not None or self.build is None:
            return own
        build_workdir = getattr(self.build, "workdir", None)
        if callable(build_workdir) and not _is_renderable(build_workdir):
            return build_workdir(getattr(self.build, "sources", []))
        return build_workdir

    @workdir.setter
    def workdir(self, value: Any) -> None:
        self._workdir = value

    def getProperties(self) -> Any:
        return self.build.getProperties()

    def getWorkerName(self) -> str | None:
        if self.build is not None and hasattr(self.build, "getWorkerName"):
            return self.build.getWorkerName()
        return getattr(self.worker, "workername", None)

    def _builder_name(self) -> str:
        builder = getattr(self.build, "builder", None)
        return getattr(builder, "name", None) or getattr(self.build, "buildername", "")

    # --- the life-cycle ----------------------------------------------------------------

    async def addStep(self, start: bool = False, locks_acquired: bool = False) -> None:
        """Create this step in the data API: sets `stepid`, `number` and the unique name;
        with `start`, it is created started."""
        name = await self.render(self.name)
        if not isinstance(name, str):
            name = str(name)
        name = self._scrub(name)
        updates = self.master.data.updates
        if start:
            added = await updates.addStep(
                buildid=self.build.buildid, name=name, start=True, locks_acquired=locks_acquired
            )
        else:
            added = await updates.addStep(buildid=self.build.buildid, name=name)
        self.stepid, self.number, self.name = added

    def startStep(self, remote: Any) -> defer.Deferred[int]:
        return defer.ensureDeferred(self._start_step(remote))

    async def _start_step(self, remote: Any) -> int:
        self.remote = remote
        updates = self.master.data.updates
        added_started = self.stepid is None
        if added_started:
            await self.addStep(start=True, locks_acquired=not self.locks)
        self._running = True
        results: int = EXCEPTION
        try:
            if not added_started:
                await updates.startStep(self.stepid, locks_acquired=not self.locks)
            await self._render_renderables()
            self.updateSummary()
            if not await self._should_run():
                results = SKIPPED
                # a skipped step never held its locks (Buildbot leaves the time unset);
                # a lock-less step was added with it set, to save a write
                self._clear_locks_acquired = not self.locks
            else:
                if self.locks:
                    await self.acquireLocks()
                    if self.stopped:
                        raise BuildStepCancelled()
                    await updates.set_step_locks_acquired_at(self.stepid)
                results = await self._run_and_map()
        except Exception:
            results = await self._map_failure(failure.Failure())
        if self.stopped and results not in (CANCELLED, RETRY):
            results = EXCEPTION
        self.results = results
        await self._end_step(results)
        return results

    async def _render_renderables(self) -> None:
        for name in _collect_renderables(type(self)):
            value = getattr(self, name)
            setattr(self, name, await self.render(value))
        self.rendered = True

    async def _should_run(self) -> bool:
        cond = self.doStepIf
        if _is_renderable(cond):
            cond = await self.render(cond)
        if callable(cond):
            cond = await defer.maybeDeferred(cond, self)
        return bool(cond)

    async def _run_and_map(self) -> int:
        try:
            if self._is_oldstyle():
                results = await self._run_oldstyle()
            else:
                results = await defer.maybeDeferred(self.run)
            if self._pending_ops:
                await self._wait_pending_ops()
        except Exception:
            return await self._map_failure(failure.Failure())
        if results is None:
            raise ValueError(f"{self!r}: run() returned None instead of a result")
        return results

    async def _map_failure(self, f: failure.Failure) -> int:
        if f.check(BuildStepFailed):
            return FAILURE
        if f.check(MissingSecretError):
            # a configuration problem, not a bug: the message says it all
            message = str(f.value)
            self._failure_summary = message
            try:
                if self.stepid is not None:
                    await self.addCompleteLog("err.text", message + "\n")
            except Exception:
                twlog.err(None, "while adding the error log")
            return FAILURE
        if f.check(BuildStepCancelled, defer.CancelledError):
            return CANCELLED
        if remotecommand.isConnectionLost(f):
            return RETRY
        twlog.err(f, f"BuildStep.failed; traceback follows ({self!r})")
        try:
            if self.stepid is not None:
                await self.addLogWithFailure(f)
        except Exception:
            twlog.err(None, "while adding the error log")
        return EXCEPTION

    async def _end_step(self, results: int) -> None:
        try:
            self.hidden = bool(await self._evaluate_hidden(results))
        except Exception:
            twlog.err(None, f"in hideStepIf of {self!r}")
            results = self.results = EXCEPTION
        if self._pending_ops:
            await self._wait_pending_ops()
        for name, lg in list(self.logs.items()):
            if not lg.isFinished():
                try:
                    await lg.finish()
                except Exception:
                    twlog.err(None, f"while finishing log {name!r}")
        await self._flush_test_results()
        self._running = False
        # the final summary goes out with finishStep, in one write: a summary
        # update still waiting for its turn would only be overwritten
        await self.updateSummary.stop(run_pending=False)
        try:
            text: str | None = await self._summary_text()
        except Exception:
            twlog.err(None, f"in the result summary of {self!r}")
            text = None
        self.releaseLocks()
        await self.master.data.updates.finishStep(
            self.stepid,
            results,
            self.hidden,
            state_string=text,
            clear_locks_acquired=self._clear_locks_acquired,
        )

    async def _evaluate_hidden(self, results: int) -> bool:
        cond = self.hideStepIf
        if _is_renderable(cond):
            cond = await self.render(cond)
        if callable(cond):
            cond = await defer.maybeDeferred(cond, results, self)
        return bool(cond)

    def run(self) -> Any:
        raise NotImplementedError("the step must implement run()")

    # --- old-style steps ---------------------------------------------------------------

    def _is_oldstyle(self) -> bool:
        cls = type(self)
        return cls.run is BuildStep.run and getattr(cls, "start", None) is not None

    async def _run_oldstyle(self) -> int:
        done: defer.Deferred[int] = defer.Deferred()
        self._oldstyle_done = done
        started = await defer.maybeDeferred(self.start)
        if started == SKIPPED:
            return SKIPPED
        return await done

    def finished(self, results: int) -> None:
        """Old-style steps end with this from `start()`."""
        done, self._oldstyle_done = self._oldstyle_done, None
        if done is not None:
            done.callback(results)

    def failed(self, why: Any) -> None:
        done, self._oldstyle_done = self._oldstyle_done, None
        if done is not None:
            done.errback(why if isinstance(why, failure.Failure) else failure.Failure(why))

    def _track(self, d: defer.Deferred[Any]) -> defer.Deferred[Any]:
        """Remember `d` until it fires: an old-style caller may drop it, and the step
        must not end before it has fired."""
        if d.called:
            return d
        self._pending_ops.add(d)

        def done(result: Any) -> Any:
            self._pending_ops.discard(d)
            return result

        d.addBoth(done)
        return d

    async def _wait_pending_ops(self) -> None:
        while self._pending_ops:
            pending = list(self._pending_ops)
            await defer.DeferredList(pending, consumeErrors=True)

    # --- locks -------------------------------------------------------------------------

    def acquireLocks(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._acquire_locks())

    async def _acquire_locks(self) -> None:
        if not self._lock_set:
            build = self.build
            self._lock_set = list(
                build.lock_registry.resolve(
                    self.locks, self.getWorkerName() or "", build.config_version
                )
            )
        self._lock_wait = real_locks.acquire_locks(self, self._lock_set, self._waiting_for)
        try:
            await self._lock_wait
            self._locks_acquired = True
        finally:
            self._lock_wait = None

    def _waiting_for(self, lock: Any, access: Any) -> None:
        self.updateSummary()

    def releaseLocks(self) -> None:
        if self._locks_acquired:
            real_locks.release_locks(self, self._lock_set)
            self._locks_acquired = False

    # --- interrupting --------------------------------------------------------------------

    def interrupt(self, reason: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._interrupt(reason))

    async def _interrupt(self, reason: Any) -> None:
        if self.stopped:
            return
        self.stopped = True
        text = reason.getErrorMessage() if isinstance(reason, failure.Failure) else str(reason)
        waiting = self._lock_wait
        logname = "cancelled while waiting for locks" if waiting is not None else "cancelled"
        if self.stepid is not None and self._running:
            await self.addCompleteLog(logname, text)
        if waiting is not None:
            waiting.cancel()
        if self.cmd is not None:
            await self.cmd.interrupt(reason)

    # --- summaries -----------------------------------------------------------------------

    def getCurrentSummary(self) -> Any:
        if self.description is not None:
            text = _as_text(self.description)
            if self.descriptionSuffix:
                text += " " + _as_text(self.descriptionSuffix)
            return {"step": text}
        return {"step": "running"}

    def getResultSummary(self) -> Any:
        done = self.descriptionDone if self.descriptionDone is not None else self.description
        if done is not None:
            text = _as_text(done)
            if self.descriptionSuffix:
                text += " " + _as_text(self.descriptionSuffix)
        else:
            text = "finished"
        return {"step": text + self._result_note()}

    def _result_note(self) -> str:
        note = ""
        if self.results is not None and self.results != SUCCESS:
            note += f" ({Results[self.results]})"
        if self.timed_out:
            note += " (timed out)"
        if self.max_lines_reached:
            note += " (max lines reached)"
        return note

    def _summary_policy(self) -> list[int]:
        policy = self.updateBuildSummaryPolicy
        if policy is None:
            results = [EXCEPTION, RETRY, CANCELLED]
            if self.flunkOnFailure or self.haltOnFailure or self.warnOnFailure:
                results.append(FAILURE)
            if self.warnOnWarnings or self.flunkOnWarnings:
                results.append(WARNINGS)
            return results
        if policy is True:
            return list(range(len(Results)))
        if policy is False:
            return []
        return list(policy)

    def getBuildResultSummary(self) -> defer.Deferred[dict[str, str]]:
        return defer.ensureDeferred(self._build_result_summary())

    async def _build_result_summary(self) -> dict[str, str]:
        if self._failure_summary is not None:
            summary = {"step": self._failure_summary_text()}
        else:
            summary = dict(await defer.maybeDeferred(self.getResultSummary))
        summary = {k: self._scrub(v) if isinstance(v, str) else v for k, v in summary.items()}
        if "build" not in summary and self.results in self._summary_policy():
            summary["build"] = summary["step"]
        return summary

    @debounce.method(wait=1.0)
    def updateSummary(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._update_summary())

    async def _update_summary(self) -> None:
        if self.stepid is None or self.master is None:
            return
        text = await self._summary_text()
        await self.master.data.updates.setStepStateString(self.stepid, text)

    def _failure_summary_text(self) -> str:
        return f"{self._failure_summary}{self._result_note()}"

    async def _summary_text(self) -> str:
        if not self._running and self._failure_summary is not None:
            return self._scrub(self._failure_summary_text())
        if self._running:
            summary = await defer.maybeDeferred(self.getCurrentSummary)
        else:
            summary = await defer.maybeDeferred(self.getResultSummary)
        text = summary.get("step") if isinstance(summary, dict) else None
        if not isinstance(text, str):
            raise TypeError(f"{self!r}: the step summary must be a str, not {text!r}")
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        props = getattr(self.build, "properties", None)
        cleanup = getattr(props, "cleanupTextFromSecrets", None)
        return cleanup(text) if cleanup is not None else text

    # --- logs and URLs -------------------------------------------------------------------

    def addLog(
        self, name: str, type: str = "s", logEncoding: str | None = None
    ) -> defer.Deferred[Any]:
        return self._track(defer.ensureDeferred(self._add_log(name, type, logEncoding)))

    async def _add_log(self, name: str, type: str, logEncoding: str | None) -> Any:
        if self.stepid is None:
            raise BuildStepCancelled()
        logid = await self.master.data.updates.addLog(self.stepid, name, type)
        encoding = logEncoding or self.logEncoding
        if encoding is None:
            encoding = getattr(getattr(self.master, "config", None), "logEncoding", None)
        lg = Log.new(self.master, name, type, logid, encoding)
        props = getattr(self.build, "properties", None)
        if hasattr(props, "secretHoldback"):
            lg.set_scrubber(props)
        self.logs[name] = lg
        for logname, observer in self._log_observers:
            if logname == name:
                observer.setLog(lg)
        return lg

    def getLog(self, name: str) -> Any:
        return self.logs[name]

    def addCompleteLog(self, name: str, text: str) -> defer.Deferred[None]:
        return self._track(defer.ensureDeferred(self._add_whole_log(name, "t", text)))

    def addHTMLLog(self, name: str, html: str) -> defer.Deferred[None]:
        return self._track(defer.ensureDeferred(self._add_whole_log(name, "h", html)))

    async def _add_whole_log(self, name: str, type: str, text: str) -> None:
        lg = await self._add_log(name, type, None)
        await lg.addContent(text)
        await lg.finish()

    def addLogWithFailure(self, why: failure.Failure, logprefix: str = "") -> defer.Deferred:
        return self._track(defer.ensureDeferred(self._add_failure_logs(why, logprefix)))

    def addLogWithException(self, why: BaseException, logprefix: str = "") -> defer.Deferred:
        f = failure.Failure(why, type(why), why.__traceback__)
        return self.addLogWithFailure(f, logprefix)

    async def _add_failure_logs(self, why: failure.Failure, logprefix: str) -> None:
        text = why.getTraceback()
        if not text.strip():
            text = "".join(traceback.format_exception_only(why.type, why.value))
        await self._add_whole_log(logprefix + "err.text", "t", text)
        await self._add_whole_log(logprefix + "err.html", "h", _failure_html(why, text))

    def addLogObserver(self, logname: str, observer: Any) -> None:
        observer.setStep(self)
        self._log_observers.append((logname, observer))
        if logname in self.logs:
            observer.setLog(self.logs[logname])

    def _update(self, method: str, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Call a data API update (which may be a coroutine function) as a Deferred."""
        fn = getattr(self.master.data.updates, method)
        return self._track(defer.ensureDeferred(_awaitable(fn(*args, **kwargs))))

    def addURL(self, name: str, url: str) -> defer.Deferred[None]:
        return self._update(
            "addStepURL", self.stepid, self._scrub(str(name)), self._scrub(str(url))
        )

    def setBuildData(self, name: str, value: bytes, source: str) -> defer.Deferred[None]:
        return self._update("setBuildData", self.build.buildid, name, value, source)

    # --- test results ----------------------------------------------------------------------

    def addTestResultSet(
        self, description: str, category: str, value_unit: str
    ) -> defer.Deferred[int]:
        builderid = getattr(self.build, "builderid", None)
        if builderid is None:
            builderid = getattr(getattr(self.build, "builder", None), "builderid", None)
        return self._update(
            "addTestResultSet",
            builderid=builderid,
            buildid=self.build.buildid,
            stepid=self.stepid,
            description=description,
            category=category,
            value_unit=value_unit,
        )

    def addTestResult(
        self,
        setid: int,
        value: Any,
        test_name: str | None = None,
        test_code_path: str | None = None,
        line: int | None = None,
        duration_ns: int | None = None,
    ) -> None:
        self._test_results.setdefault(setid, []).append(
            {
                "test_name": test_name,
                "test_code_path": test_code_path,
                "line": line,
                "duration_ns": duration_ns,
                "value": str(value),
            }
        )

    async def _flush_test_results(self) -> None:
        pending, self._test_results = self._test_results, {}
        builderid = getattr(self.build, "builderid", None)
        if builderid is None:
            builderid = getattr(getattr(self.build, "builder", None), "builderid", None)
        for setid, values in pending.items():
            try:
                await self.master.data.updates.addTestResults(builderid, setid, values)
            except Exception:
                twlog.err(None, f"while storing the test results of {self!r}")

    # --- statistics ------------------------------------------------------------------------

    def setStatistic(self, name: str, value: Any) -> None:
        self.statistics[name] = value

    def getStatistic(self, name: str, default: Any = None) -> Any:
        return self.statistics.get(name, default)

    def hasStatistic(self, name: str) -> bool:
        return name in self.statistics

    def getStatistics(self) -> dict[str, Any]:
        return dict(self.statistics)

    # --- the worker ------------------------------------------------------------------------

    def _conn(self) -> Any:
        if self.remote is not None:
            return self.remote
        return getattr(self.build, "conn", None)

    def workerVersion(self, command: str, oldversion: str | None = None) -> str | None:
        conn = self._conn()
        if conn is not None and hasattr(conn, "commandVersion"):
            version = conn.commandVersion(command)
            return version if version is not None else oldversion
        versions = getattr(self.build, "getWorkerCommandVersion", None)
        return versions(command, oldversion) if versions is not None else oldversion

    def workerVersionIsOlderThan(self, command: str, minversion: str) -> bool:
        version = self.workerVersion(command)
        if version is None:
            raise WorkerSetupError(f"worker does not have the {command!r} command")
        return remotecommand._older(version, minversion)

    def checkWorkerHasCommand(self, command: str) -> None:
        if not self.workerVersion(command):
            raise WorkerSetupError(f"worker is too old, does not know about {command}")

    def runCommand(self, command: Any) -> defer.Deferred[Any]:
        if self.stopped:
            return defer.succeed(CANCELLED)
        return defer.ensureDeferred(self._run_command(command))

    async def _run_command(self, command: Any) -> Any:
        self.cmd = command
        command.worker = self.worker
        try:
            result = await command.run(self, self._conn(), self._builder_name())
        finally:
            self.cmd = None
        reasons = command.updates.get("failure_reason", [])
        if any(r in ("timeout", "timeout_without_output") for r in reasons):
            self.timed_out = True
        if "max_lines_failure" in reasons:
            self.max_lines_reached = True
        return result


async def _awaitable(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _failure_html(why: failure.Failure, text: str) -> str:
    from html import escape

    return (
        f"<html><body><b>{escape(why.getErrorMessage())}</b><pre>{escape(text)}</pre></body></html>"
    )


# --- shell commands ---------------------------------------------------------------------

_SHELL_ARGS = (
    "command",
    "workdir",
    "env",
    "want_stdout",
    "want_stderr",
    "usePTY",
    "logfiles",
    "lazylogfiles",
    "timeout",
    "maxTime",
    "max_lines",
    "logEnviron",
    "interruptSignal",
    "sigtermTime",
    "initialStdin",
    "decodeRC",
)
_SHELL_TYPES: dict[str, Any] = {
    "want_stdout": bool,
    "want_stderr": bool,
    "lazylogfiles": bool,
    "logEnviron": bool,
    "env": dict,
    "logfiles": dict,
    "decodeRC": dict,
    "timeout": (int, float, type(None)),
    "maxTime": (int, float, type(None)),
    "max_lines": (int, type(None)),
    "sigtermTime": (int, float, type(None)),
    "command": (str, list, tuple, type(None)),
}


def command_to_string(command: Any) -> str | None:
    """A short form of a command for a summary: its first words, quoted."""
    if isinstance(command, str):
        words = command.split()
    elif isinstance(command, list | tuple):
        words = [w for w in flatten(command, (list, tuple)) if isinstance(w, str)]
    else:
        return None
    if not words:
        return None
    if len(words) > 3:
        words = [*words[:3], "..."]
    return "'" + " ".join(words) + "'"


class ShellMixin:
    """Shell-command arguments and `makeRemoteShellCommand`; mix in before BuildStep."""

    command: Any = None
    env: Any = {}
    want_stdout: Any = True
    want_stderr: Any = True
    usePTY: Any = None
    logfiles: Any = {}
    lazylogfiles: Any = False
    timeout: Any = 1200
    maxTime: Any = None
    max_lines: Any = None
    logEnviron: Any = True
    interruptSignal: Any = "KILL"
    sigtermTime: Any = None
    initialStdin: Any = None
    decodeRC: Any = {0: SUCCESS}
    renderables = list(_SHELL_ARGS)

    def setupShellMixin(
        self, constructorArgs: dict[str, Any], prohibitArgs: Iterable[str] | None = None
    ) -> dict[str, Any]:
        kwargs = dict(constructorArgs)
        prohibited = set(prohibitArgs or ())
        name = type(self).__name__
        for arg in list(kwargs):
            if arg in prohibited:
                config.error(f"{name} does not accept the argument {arg!r}")
                kwargs.pop(arg)
            elif arg in _SHELL_ARGS:
                value = kwargs[arg] if arg == "workdir" else kwargs.pop(arg)
                expected = _SHELL_TYPES.get(arg)
                if expected and not _is_renderable(value) and not isinstance(value, expected):
                    config.error(f"{name} argument {arg} has the wrong type: {value!r}")
                if arg != "workdir":
                    setattr(self, arg, value)
            elif arg not in _COMMON_KWARGS:
                config.error(f"{name}.__init__ got an unexpected keyword argument {arg!r}")
                kwargs.pop(arg)
        return kwargs

    def makeRemoteShellCommand(
        self,
        collectStdout: bool = False,
        collectStderr: bool = False,
        stdioLogName: str | None = "stdio",
        **overrides: Any,
    ) -> defer.Deferred[remotecommand.RemoteShellCommand]:
        return defer.ensureDeferred(
            self._make_shell_command(collectStdout, collectStderr, stdioLogName, overrides)
        )

    async def _make_shell_command(
        self: Any,
        collectStdout: bool,
        collectStderr: bool,
        stdioLogName: str | None,
        overrides: dict[str, Any],
    ) -> remotecommand.RemoteShellCommand:
        args = {arg: getattr(self, arg) for arg in _SHELL_ARGS}
        args.update(overrides)
        lazy = args.pop("lazylogfiles")
        stdio = None
        if stdioLogName is not None:
            stdio = self.logs.get(stdioLogName)
            if stdio is None:
                stdio = await self.addLog(stdioLogName)
        command = args["command"]
        if isinstance(command, list | tuple):
            args["command"] = flatten(command, (list, tuple))
        if args["workdir"] is None:
            args["workdir"] = self.workdir
        build_env = getattr(self.build, "env", None) or {}
        env = dict(await self.render(build_env))
        env.update(args["env"] or {})
        args["env"] = env
        if stdio is not None:
            await self._note_old_worker(stdio, args)
        cmd = remotecommand.RemoteShellCommand(
            collectStdout=collectStdout,
            collectStderr=collectStderr,
            stdioLogName=stdioLogName,
            **args,
        )
        if stdio is not None:
            cmd.useLog(stdio, closeWhenFinished=False)
        for logname in args["logfiles"] or {}:
            if lazy:
                cmd.useLogDelayed(logname, self._lazy_log_opener(logname), True)
            else:
                newlog = await self.addLog(logname)
                cmd.useLog(newlog, closeWhenFinished=True)
        return cmd

    def _lazy_log_opener(self: Any, logname: str) -> Callable[[Any], Any]:
        async def open_log(cmd: Any) -> None:
            cmd.useLog(await self.addLog(logname), True, logname)

        return lambda cmd: defer.ensureDeferred(open_log(cmd))

    async def _note_old_worker(self: Any, stdio: Any, args: dict[str, Any]) -> None:
        version = self.workerVersion("shell")
        if version is None:
            return
        if args.get("usePTY") and remotecommand._older(version, "2.7"):
            await stdio.addHeader("NOTE: worker does not allow master to override usePTY\n")
        if args.get("interruptSignal") and remotecommand._older(version, "2.15"):
            await stdio.addHeader("NOTE: worker does not allow master to specify interruptSignal\n")
        # RemoteShellCommand leaves out what the old worker does not know

    def _command_summary(self: Any, done: bool) -> dict[str, str] | None:
        if not self.rendered:
            return None
        text = command_to_string(self.command)
        if text is None:
            return None
        if done:
            if self.max_lines_reached:
                text += " (max lines)"
            if self.results is not None and self.results != SUCCESS:
                text += f" ({Results[self.results]})"
            if self.timed_out:
                text += " (timed out)"
        return {"step": text}

    def getCurrentSummary(self: Any) -> Any:
        if self.description is None:
            summary = self._command_summary(False)
            if summary is not None:
                return summary
        return super().getCurrentSummary()  # type: ignore[misc]

    def getResultSummary(self: Any) -> Any:
        if self.descriptionDone is None and self.description is None:
            summary = self._command_summary(True)
            if summary is not None:
                return summary
        return super().getResultSummary()  # type: ignore[misc]


class CommandMixin:
    """Small worker file-system helpers for custom steps (mix in before BuildStep)."""

    async def _run_simple(
        self: Any,
        name: str,
        args: dict[str, Any],
        log: Any = None,
        abandonOnFailure: bool = True,
        collect: bool = False,
    ) -> Any:
        cmd = remotecommand.RemoteCommand(name, args)
        if log is not None:
            cmd.useLog(log, False)
        await self.runCommand(cmd)
        if abandonOnFailure and cmd.didFail():
            raise BuildStepFailed()
        return cmd

    def runRmdir(self, dir: str, log: Any = None, abandonOnFailure: bool = True) -> Any:
        return defer.ensureDeferred(
            self._done_ok(self._run_simple("rmdir", {"dir": dir}, log, abandonOnFailure))
        )

    def runMkdir(self, dir: str, log: Any = None, abandonOnFailure: bool = True) -> Any:
        return defer.ensureDeferred(
            self._done_ok(self._run_simple("mkdir", {"dir": dir}, log, abandonOnFailure))
        )

    async def _done_ok(self, running: Any) -> bool:
        cmd = await running
        return not cmd.didFail()

    def pathExists(self, path: str) -> Any:
        async def check() -> bool:
            cmd = await self._run_simple("stat", {"file": path}, abandonOnFailure=False)
            return not cmd.didFail()

        return defer.ensureDeferred(check())

    def runGlob(self, path: str) -> Any:
        async def glob() -> list[str]:
            cmd = await self._run_simple("glob", {"path": path})
            return (cmd.updates.get("files") or [[]])[-1]

        return defer.ensureDeferred(glob())
