"""One run of a builder's steps on one worker: `Build(requests, builder)`.

`startBuild(workerforbuilder)` records the build, prepares the worker (the implicit
`worker_preparation` step), takes the builder's and worker's locks (the implicit
`locks_acquire` step), runs the factory's steps in order, folds their results into
the build's, and finishes it; the builder then completes or re-queues the requests.
"""

from __future__ import annotations

import json
import ntpath
import posixpath
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.python import failure, log

from buildbot.data.properties import as_property_dict
from buildbot.process import properties
from buildbot.process.factory import get_factory_from_step_or_factory
from buildbot.process.locks import LockSet, acquire_locks, release_locks
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
    computeResultAndTermination,
    worst_status,
)

_RESULT_WORDS = {
    SUCCESS: "build successful",
    WARNINGS: "warnings",
    FAILURE: "failed",
    SKIPPED: "skipped",
    EXCEPTION: "exception",
    RETRY: "retry",
    CANCELLED: "cancelled",
}

_NO_INITIAL = object()


class Build(properties.PropertiesMixin):
    set_runtime_properties = True

    def __init__(self, requests: list[Any], builder: Any = None) -> None:
        self.requests = list(requests)
        self.builder = builder
        self.master: Any = getattr(builder, "master", None)
        self.properties = properties.Properties()
        self.properties.build = self
        first = self.requests[0] if self.requests else None
        self.sources: list[Any] = first.mergeSourceStampsWith(self.requests[1:]) if first else []
        self.reason = first.reason if first else ""
        factory = getattr(getattr(builder, "config", None), "factory", None)
        self.workdir: Any = getattr(factory, "workdir", "build")
        self._factories: deque[Any] = deque(getattr(factory, "steps", None) or [])
        self.env: dict[str, Any] = {}
        self.buildid: int | None = None
        self.number: int | None = None
        # {name: (json value, source)} as last written to the DB
        self._stored_properties: dict[str, Any] = {}
        self.results: int = SUCCESS
        self.text: list[str] = []
        self.stopped = False
        self.stopped_reason: str | None = None
        self._stop_results: int | None = None
        self.terminate = False
        self.finished = False
        self.currentStep: Any = None
        self.executedSteps: list[Any] = []
        self.workerforbuilder: Any = None
        self.conn: Any = None
        self.path_module: Any = posixpath
        self._locks: LockSet = []
        self._locks_wait: defer.Deferred[None] | None = None
        self._disconnect_sub: Any = None
        self._stop_consumer: Any = None
        self._worker_lost = False
        # the wait for a latent worker's start (cancelled by stopBuild)
        self._worker_start: defer.Deferred[None] | None = None

    def __repr__(self) -> str:
        name = getattr(self.builder, "name", "?")
        return f"<Build {name!r} number:{self.number!r} results:{self.results!r}>"

    # --- the build object as steps see it -----------------------------------------------

    def getProperties(self) -> properties.Properties:
        return self.properties

    def getSourceStamp(self, codebase: str = "") -> Any:
        return next((ss for ss in self.sources if ss.codebase == codebase), None)

    def getAllSourceStamps(self) -> list[Any]:
        return list(self.sources)

    def allChanges(self) -> Iterable[dict[str, Any]]:
        for ss in self.sources:
            yield from ss.changes

    def allFiles(self) -> list[str]:
        return [f for change in self.allChanges() for f in change.get("files") or []]

    def blamelist(self) -> list[str]:
        return sorted({c["author"] for c in self.allChanges() if c.get("author")})

    def changesText(self) -> str:
        return "\n\n".join(f"{c.get('author')}: {c.get('comments')}" for c in self.allChanges())

    def getWorkerName(self) -> str | None:
        wfb = self.workerforbuilder
        return wfb.worker.name if wfb is not None else None

    def getWorkerInfo(self) -> dict[str, Any]:
        wfb = self.workerforbuilder
        return dict(wfb.worker.info) if wfb is not None else {}

    @property
    def path_cls(self) -> Any:
        return self.path_module

    @property
    def lock_registry(self) -> Any:
        """Where the locks of this build and its steps are found (the botmaster's)."""
        return self.builder.botmaster.locks

    @property
    def config_version(self) -> int:
        """The configuration the locks are resolved against."""
        return self.builder.botmaster.config_version

    def addStepsAfterCurrentStep(self, step_factories: Iterable[Any]) -> None:
        factories = [get_factory_from_step_or_factory(s) for s in step_factories]
        self._factories.extendleft(reversed(factories))

    def addStepsAfterLastStep(self, step_factories: Iterable[Any]) -> None:
        self._factories.extend(get_factory_from_step_or_factory(s) for s in step_factories)

    def getSummaryStatistic(
        self, name: str, summary_fn: Callable[[Any, Any], Any], initial_value: Any = _NO_INITIAL
    ) -> Any:
        values = [
            s.getStatistic(name)
            for s in self.executedSteps
            if hasattr(s, "hasStatistic") and s.hasStatistic(name)
        ]
        if initial_value is not _NO_INITIAL:
            values.insert(0, initial_value)
        if not values:
            return None
        total = values[0]
        for value in values[1:]:
            total = summary_fn(total, value)
        return total

    # --- properties ---------------------------------------------------------------------

    def setupProperties(self) -> None:
        """Properties before the build has a number: global, change, request, builder."""
        props = self.properties
        cfg = getattr(self.master, "config", None)
        source = getattr(self.master, "configFileName", None) or "master.cfg"
        for name, value in (getattr(cfg, "properties", None) or {}).items():
            props.setProperty(name, value, source)
        for change in self.allChanges():
            for name, vs in (change.get("properties") or {}).items():
                value, src = vs if isinstance(vs, list | tuple) else (vs, "Change")
                props.setProperty(name, value, src)
        for request in self.requests:
            props.updateFromProperties(request.properties)
        builder = self.builder
        bcfg = builder.config
        props.setProperty("buildername", builder.name, "Builder")
        if builder.builderid is not None:
            props.setProperty("builderid", builder.builderid, "Builder")
        if getattr(bcfg, "project", None):
            props.setProperty("projectname", bcfg.project, "Builder")
        for name, value in (getattr(bcfg, "properties", None) or {}).items():
            props.setProperty(name, value, "Builder")
        for name, value in (getattr(bcfg, "defaultProperties", None) or {}).items():
            if name not in props:
                props.setProperty(name, value, "Builder")

    def setupWorkerProperties(self, worker: Any) -> None:
        props = self.properties
        props.setProperty("workername", worker.name, "Worker")
        if getattr(worker, "machine_name", None):
            props.setProperty("machine_name", worker.machine_name, "Worker")
        for name, value in (getattr(worker, "properties", None) or {}).items():
            props.setProperty(name, value, "Worker")
        for name, value in (getattr(worker, "defaultProperties", None) or {}).items():
            if name not in props:
                props.setProperty(name, value, "Worker")
        if worker.worker_system in ("nt", "win32"):
            self.path_module = ntpath
        basedir = worker.info.get("basedir")
        if basedir:
            builddir = self.path_module.join(basedir, self.builder.config.workerbuilddir)
            props.setProperty("builddir", builddir, "Worker")
            props.setProperty("basedir", basedir, "Worker")

    def setupOwnProperties(self) -> None:
        props = self.properties
        props.setProperty("buildnumber", self.number, "Build")
        if len(self.sources) == 1:
            ss = self.sources[0]
            for name in ("branch", "revision", "repository", "codebase", "project"):
                props.setProperty(name, getattr(ss, name), "Build")
        owners = set(self.blamelist())
        for request in self.requests:
            owner = request.properties.getProperty("owner")
            if owner:
                owners.add(owner)
        if owners:
            props.setProperty("owners", sorted(owners), "Build")

    # --- running ------------------------------------------------------------------------

    def startBuild(self, workerforbuilder: Any) -> defer.Deferred[int]:
        """Run the build on `workerforbuilder`; fires with the results once finished
        (the builder has been told by then). Never fails."""
        return defer.ensureDeferred(self._run(workerforbuilder))

    async def _run(self, workerforbuilder: Any) -> int:
        self.workerforbuilder = workerforbuilder
        worker = workerforbuilder.worker
        self.conn = worker.conn
        try:
            await self._prepare(worker)
            if not self.stopped and self.conn is not None:
                await self._run_steps()
        except Exception:
            log.err(failure.Failure(), f"while running {self!r}")
            self.results = worst_status(self.results, EXCEPTION) or EXCEPTION
        if self._worker_lost:
            self.results = RETRY
        elif self.stopped and self._stop_results is not None:
            self.results = self._stop_results
        await self._finish()
        return self.results

    async def _prepare(self, worker: Any) -> None:
        updates = self.master.data.updates
        self.setupProperties()
        self.setupWorkerProperties(worker)
        builderid = await self.builder.getBuilderId()
        self.buildid, self.number = await updates.addBuild(
            builderid=builderid,
            buildrequestid=self.requests[0].id,
            workerid=getattr(worker, "workerid", None),
        )
        self.setupOwnProperties()
        self._stop_consumer = await self.master.mq.startConsuming(
            self._control_stop, ("control", "builds", str(self.buildid), "stop")
        )
        await self._store_properties()
        await updates.generateNewBuildEvent(self.buildid)

        # a connected worker needs no preparation: the step is added, started and
        # finished in two writes; a latent worker is started (or joined) meanwhile
        # (it holds no locks: Buildbot 4.3 counts them acquired when it starts)
        stepid, _, _ = await updates.addStep(
            self.buildid, "worker_preparation", start=True, locks_acquired=True
        )
        if getattr(worker, "is_latent", False) and not worker.isSubstantiated():
            if not await self._substantiate(worker, stepid):
                return
            self.conn = worker.conn
            self.setupWorkerProperties(worker)  # what the worker told when it logged in
            await self._store_properties()
        if self.conn is None or self.conn.disconnected:
            self.conn = None
            self.results = RETRY
            self.text = ["worker", "lost"]
            await updates.finishStep(stepid, RETRY, False, state_string="worker lost")
            return
        self._disconnect_sub = self.conn.notifyOnDisconnect(self.lostRemote)
        await updates.finishStep(stepid, SUCCESS, False, state_string="worker ready")

        accesses = list(getattr(self.builder.config, "locks", None) or [])
        accesses += list(getattr(worker, "access", None) or [])
        if accesses and not self.stopped:
            await self._acquire_locks(worker, accesses)

        do_build_if = getattr(self.builder.config, "do_build_if", None)
        if do_build_if is not None and not self.stopped:
            if not await defer.maybeDeferred(do_build_if, self):
                self.results = SKIPPED
                self._factories.clear()

    async def _substantiate(self, worker: Any, stepid: int) -> bool:
        """Start the latent worker (or wait for its start under way) in the
        `worker_preparation` step; False when the build ends here: stopped meanwhile
        (the start is given up), or the start failed (RETRY: the requests go back to
        the queue while the worker is in quarantine; the reason is in the step's
        `err.text` log and the build's state string)."""
        updates = self.master.data.updates
        if not self.stopped:
            await updates.setStepStateString(stepid, "substantiating worker")
            await updates.setBuildStateString(self.buildid, "preparing worker")
        if self.stopped:
            await updates.finishStep(stepid, self.results, False, state_string="stopped")
            return False
        self._worker_start = worker.substantiate(self.workerforbuilder, self)
        try:
            await self._worker_start
        except defer.CancelledError:
            # stopBuild gave up the wait
            await updates.finishStep(
                stepid, self.results, False, state_string="stopped while the worker started"
            )
            return False
        except Exception as e:
            reason = str(e) or repr(e)
            log.msg(f"{self!r}: worker {worker.name!r} failed to start: {reason}")
            if not self.stopped:
                self.results = RETRY
                self.text = [f"worker failed to start: {reason.splitlines()[0]}"[:200]]
            logid = await updates.addLog(stepid, "err.text", "t")
            await updates.appendLog(logid, f"worker {worker.name!r} failed to start:\n{reason}\n")
            await updates.finishLog(logid)
            await updates.finishStep(
                stepid, self.results, False, state_string="worker failed to start"
            )
            return False
        finally:
            self._worker_start = None
        return True

    async def _acquire_locks(self, worker: Any, accesses: list[Any]) -> None:
        updates = self.master.data.updates
        self._locks = self.lock_registry.resolve(accesses, worker.name, self.config_version)
        stepid, _, _ = await updates.addStep(self.buildid, "locks_acquire", start=True)
        reactor = self.master.reactor
        started = reactor.seconds()
        waited = False

        def on_wait(lock: Any, access: Any) -> None:
            nonlocal waited
            if not waited:
                waited = True
                updates.setBuildStateString(self.buildid, "waiting for locks").addErrback(
                    log.err, "while setting the build state"
                )

        self._locks_wait = acquire_locks(self, self._locks, on_wait)
        try:
            await self._locks_wait
        except defer.CancelledError:
            await updates.finishStep(stepid, CANCELLED, False)
            return
        finally:
            self._locks_wait = None
        duration = int(reactor.seconds() - started)
        if duration:
            await updates.add_build_locks_duration(self.buildid, duration)
        await updates.set_step_locks_acquired_at(stepid)
        await updates.finishStep(stepid, SUCCESS, False)

    def _next_step(self) -> Any:
        """The next step to run: after termination, a stop or a lost worker, only
        `alwaysRun` steps (none at all once the worker is gone)."""
        while self._factories:
            step = self._factories.popleft().buildStep()
            if self.conn is None:
                return None
            if not (self.terminate or self.stopped) or step.alwaysRun:
                return step
        return None

    async def _run_steps(self) -> None:
        updates = self.master.data.updates
        await updates.setBuildStateString(self.buildid, "building")
        while (step := self._next_step()) is not None:
            self.currentStep = step
            step.setBuild(self)
            step.setWorker(self.workerforbuilder.worker)
            step.setDefaultWorkdir(self.workdir)
            try:
                results = await step.startStep(self.conn)
            except Exception:
                log.err(failure.Failure(), f"step {step!r} of {self!r} failed")
                results = EXCEPTION
            self.currentStep = None
            self.executedSteps.append(step)
            await self._step_done(step, results)

    async def _step_done(self, step: Any, results: int) -> None:
        self.results, terminate = computeResultAndTermination(step, results, self.results)
        self.terminate = self.terminate or terminate
        summary_fn = getattr(step, "getBuildResultSummary", None)
        if summary_fn is not None:
            try:
                summary = await defer.maybeDeferred(summary_fn)
            except Exception:
                log.err(failure.Failure(), f"summary of {step!r}")
                summary = {}
            if (summary or {}).get("build"):
                self.text.append(self.properties.cleanupTextFromSecrets(str(summary["build"])))
        await self._store_properties()

    async def _store_properties(self) -> None:
        """Write the properties that changed since the last write (none: no DB call).

        Secrets used by the build are scrubbed from the values first: the database,
        the data API and the reporters never see them."""
        current = as_property_dict(self.properties)
        stored = self._stored_properties
        encoded = {}
        changed = {}
        scrub = self.properties.cleanupValueFromSecrets
        for name, (value, source) in current.items():
            value = scrub(value)
            try:
                enc = (json.dumps(value), source)
            except (TypeError, ValueError):
                enc = None  # let the data API say what is wrong with it
            encoded[name] = enc
            if enc is None or stored.get(name) != enc:
                changed[name] = (value, source)
        if not changed:
            return
        await self.master.data.updates.setBuildProperties(self.buildid, changed)
        self._stored_properties = encoded

    def lostRemote(self) -> None:
        """The worker went away: the build ends RETRY, its running step is interrupted."""
        log.msg(f"{self!r}: the worker's connection was lost")
        self.conn = None
        self._worker_lost = True
        self.results = RETRY
        self.text = ["lost", "connection"]
        step = self.currentStep
        if step is not None and step.results is None:
            step.interrupt(failure.Failure(ConnectionError("worker lost")))

    def _control_stop(self, routingKey: Any, data: Any) -> None:
        self.stopBuild((data or {}).get("reason") or "<no reason given>")

    def stopBuild(self, reason: str = "<no reason given>", results: int = CANCELLED) -> None:
        if self.stopped or self.finished:
            return
        self.stopped = True
        self.stopped_reason = reason
        self._stop_results = results
        self.results = results
        if self._locks_wait is not None:
            self._locks_wait.cancel()
        if self._worker_start is not None:
            self._worker_start.cancel()
        step = self.currentStep
        if step is not None and step.results is None:
            d = defer.maybeDeferred(step.interrupt, reason)
            d.addErrback(log.err, f"while interrupting {step!r}")

    async def _finish(self) -> None:
        self.finished = True
        release_locks(self, self._locks)
        if self._disconnect_sub is not None:
            self._disconnect_sub.unsubscribe()
            self._disconnect_sub = None
        if self._stop_consumer is not None:
            self._stop_consumer.stopConsuming()
            self._stop_consumer = None
        try:
            if self.buildid is not None:
                updates = self.master.data.updates
                await self._store_properties()
                state = self.properties.cleanupTextFromSecrets(self.getStateString())
                await updates.setBuildStateString(self.buildid, state)
                await updates.finishBuild(self.buildid, self.results)
        except Exception:
            log.err(failure.Failure(), f"while finishing {self!r}")
        await self.builder.buildFinished(self, self.workerforbuilder)

    def getStateString(self) -> str:
        words = [_RESULT_WORDS.get(self.results, "finished")]
        if self.text and self.text[:2] not in (["lost", "connection"], ["worker", "lost"]):
            words += self.text
        elif self.text:
            words = self.text
        return " ".join(words)
