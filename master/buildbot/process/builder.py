"""A builder of the running master: one per `BuilderConfig`, with its id in the DB.

It holds its configuration, keeps the DB's builder row current, knows which of its
workers can take a build, starts builds for claimed requests (`maybeStartBuild`) and,
when a build ends, completes its requests (or re-queues them after a RETRY).
"""

from __future__ import annotations

import functools
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.process import buildrequest
from buildbot.process.build import Build
from buildbot.process.results import RETRY
from buildbot.process.workerforbuilder import WorkerForBuilder
from buildbot.util import service


class Builder(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.config: Any = None
        self._builderid: int | None = None
        self.building: list[Build] = []
        # build -> fires once it has finished (its requests completed or given back)
        self._build_done: dict[Build, defer.Deferred[None]] = {}
        self._wfbs: dict[str, WorkerForBuilder] = {}

    @property
    def botmaster(self) -> Any:
        return self.parent

    def getBuilderId(self) -> defer.Deferred[int]:
        """Our row's id (registering the name if new), looked up once."""
        if self._builderid is not None:
            return defer.succeed(self._builderid)
        d = self.master.data.updates.findBuilderId(self.name)

        @d.addCallback
        def keep(builderid: int) -> int:
            self._builderid = builderid
            return builderid

        return d

    @property
    def builderid(self) -> int | None:
        return self._builderid

    # --- workers ------------------------------------------------------------------------

    @property
    def workers(self) -> list[WorkerForBuilder]:
        """A WorkerForBuilder for each connected or latent worker of this builder."""
        manager = getattr(self.master, "workers", None)
        names = getattr(self.config, "workernames", None) or []
        found = []
        for name in names:
            worker = manager.getWorkerByName(name) if manager is not None else None
            if worker is None:
                continue
            if worker.conn is None and not getattr(worker, "is_latent", False):
                continue
            wfb = self._wfbs.get(name)
            if wfb is None or wfb.worker is not worker:
                wfb = self._wfbs[name] = WorkerForBuilder(self, worker)
            found.append(wfb)
        return found

    def getAvailableWorkers(self) -> list[WorkerForBuilder]:
        return [wfb for wfb in self.workers if wfb.isAvailable()]

    # --- requests and builds ------------------------------------------------------------

    def getCollapseRequestsFn(self, cache: dict[Any, Any] | None = None) -> Any:
        """The collapse function in force (None: no collapsing); the builder's setting
        wins over the global one, and None or True mean the default rule, which
        reads what it compares through `cache` when given."""
        setting = getattr(self.config, "collapseRequests", None)
        if setting is None:
            setting = getattr(getattr(self.master, "config", None), "collapseRequests", None)
        if setting is False:
            return None
        if setting is None or setting is True:
            return functools.partial(_default_collapse, cache=cache)
        return setting

    def canStartBuild(self, workerforbuilder: Any, breq: Any) -> defer.Deferred[bool]:
        fn = getattr(self.config, "canStartBuild", None)
        if fn is None:
            return defer.succeed(True)
        return defer.maybeDeferred(fn, self, workerforbuilder, breq).addCallback(bool)

    def maybeStartBuild(self, workerforbuilder: Any, breqs: list[Any]) -> defer.Deferred[bool]:
        """Start a build of the (claimed) requests `breqs` on the worker; True once it
        runs. The build goes on in the background and ends in `buildFinished`."""
        if not breqs or self.config is None or getattr(self.botmaster, "shutting_down", False):
            return defer.succeed(False)
        factory = self.config.factory
        build_class = getattr(factory, "buildClass", None) or Build
        build = build_class(breqs, self)
        # counted at once, so the distributor sees the worker as taken
        self.building.append(build)
        workerforbuilder.buildStarted(build)
        done: defer.Deferred[None] = defer.Deferred()
        self._build_done[build] = done
        # a latent worker is started by the build (its worker_preparation step)
        d = build.startBuild(workerforbuilder)
        d.addErrback(log.err, f"while running {build!r}")

        def finished(_: Any) -> None:
            self._build_done.pop(build, None)
            done.callback(None)

        d.addBoth(finished)
        return defer.succeed(True)

    async def stopAllBuilds(self, reason: str, results: int) -> None:
        """Stop every running build with `results` and wait until each has finished
        (a build waiting for its latent worker's start gives up the wait)."""
        waiting = []
        for build in list(self.building):
            build.stopBuild(reason, results)
            if build in self._build_done:
                waiting.append(self._build_done[build])
        await defer.gatherResults(waiting)

    async def buildFinished(self, build: Build, workerforbuilder: Any) -> None:
        """A build ended: complete its requests with its results, or give them back
        to the queue after a RETRY; then look for more work."""
        if build in self.building:
            self.building.remove(build)
        if workerforbuilder is not None:
            workerforbuilder.buildFinished(build)
        brids = [r.id for r in build.requests]
        updates = self.master.data.updates
        try:
            if build.results == RETRY:
                await updates.unclaimBuildRequests(brids)
            else:
                await updates.completeBuildRequests(brids, build.results)
        except Exception:
            log.err(None, f"while releasing the requests of {build!r}")
        worker = getattr(workerforbuilder, "worker", None)
        if worker is not None and getattr(worker, "graceful", False):
            try:
                await worker.maybeShutdown()
            except Exception:
                log.err(None, f"while shutting down worker {worker.name!r}")
        botmaster = self.botmaster
        if botmaster is not None:
            # this builder and the others the freed worker serves, in one wake-up
            names = {self.name}
            if worker is not None:
                names.update(b.name for b in botmaster.getBuildersForWorker(worker.name))
            botmaster.maybeStartBuildsForBuilders(sorted(names))

    def getBuild(self, number: int) -> Build | None:
        return next((b for b in self.building if b.number == number), None)

    # --- configuration ----------------------------------------------------------------

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(new_config))

    async def _reconfig(self, new_config: Any) -> None:
        builder_config = next((b for b in new_config.builders if b.name == self.name), None)
        if builder_config is None:
            log.msg(f"builder {self.name!r} is not in the new configuration")
            return
        builderid = await self.getBuilderId()
        updates = self.master.data.updates
        projectid = None
        if builder_config.project is not None:
            projectid = await updates.find_project_id(builder_config.project)
        description = builder_config.description
        await updates.updateBuilderInfo(
            builderid,
            description,
            getattr(builder_config, "description_format", None),
            _description_html(description, getattr(builder_config, "description_format", None)),
            projectid,
            list(builder_config.tags or []),
        )
        self.config = builder_config


def _default_collapse(
    master: Any, builder: Any, new_br: Any, old_br: Any, cache: dict[Any, Any] | None = None
) -> Any:
    return defer.ensureDeferred(buildrequest.canBeCollapsed(master, new_br, old_br, cache))


def _description_html(description: str | None, fmt: str | None) -> str | None:
    """HTML for a description in a markup format, where we can render one; the UI shows
    the plain text otherwise."""
    if description is None or fmt is None:
        return None
    if fmt == "markdown":
        try:
            import markdown  # type: ignore[import-not-found]
        except ImportError:
            return None
        return markdown.markdown(description)
    return None
