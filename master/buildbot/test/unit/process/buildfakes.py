"""Fakes for the build engine's tests: workers, connections, and steps that follow
the step contract (`buildStep`, `setBuild`, `startStep(conn)`, `interrupt`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from buildbot import interfaces
from buildbot.config.builder import BuilderConfig
from buildbot.process.botmaster import BotMaster
from buildbot.process.factory import BuildFactory
from buildbot.process.results import CANCELLED, SUCCESS
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.util import eventual


class FakeConn:
    def __init__(self, builders: list[str]) -> None:
        self.builders = {name: None for name in builders}
        self.disconnected = False
        self.info: dict[str, Any] = {}
        self._subs: list[Any] = []

    def notifyOnDisconnect(self, cb: Any) -> Any:
        entry = [cb]
        self._subs.append(entry)
        return SimpleNamespace(unsubscribe=lambda: entry in self._subs and self._subs.remove(entry))

    def lose(self) -> None:
        self.disconnected = True
        for (cb,) in list(self._subs):
            cb()


class FakeWorker:
    def __init__(self, name: str, workerid: int, builders: list[str], **kw: Any) -> None:
        self.name = name
        self.workerid = workerid
        self.conn: Any = FakeConn(builders)
        self.building: set[Any] = set()
        self.paused = False
        self.graceful = False
        self.info = {"basedir": f"/w/{name}"}
        self.worker_system = "posix"
        self.max_builds = kw.get("max_builds")
        self.properties = kw.get("properties", {})
        self.defaultProperties = kw.get("defaultProperties", {})
        self.access = kw.get("locks", [])
        self.machine_name = None

    def canStartBuild(self) -> bool:
        return self.conn is not None and not self.paused and not self.graceful

    async def maybeShutdown(self) -> None:
        pass


class FakeWorkers:
    def __init__(self) -> None:
        self.workers: dict[str, FakeWorker] = {}

    def getWorkerByName(self, name: str) -> FakeWorker | None:
        return self.workers.get(name)


class FakeStep:
    """Adds itself to the DB, waits on `gate` if given, finishes with `result`."""

    haltOnFailure = False
    flunkOnFailure = True
    flunkOnWarnings = False
    warnOnFailure = False
    warnOnWarnings = False
    alwaysRun = False
    hidden = False

    def __init__(self, name: str, result: int = SUCCESS, log: list | None = None, **flags):
        self.name = name
        self.result = result
        self.log = log if log is not None else []
        self.gate: defer.Deferred[int] | None = flags.pop("gate", None)
        self.set_props: dict[str, Any] = flags.pop("set_props", {})
        self.build_text: str | None = flags.pop("build_text", None)
        for k, v in flags.items():
            setattr(self, k, v)
        self.results: int | None = None
        self.interrupted: Any = None

    def setBuild(self, build: Any) -> None:
        self.build = build

    def setWorker(self, worker: Any) -> None:
        self.worker = worker

    def setDefaultWorkdir(self, workdir: Any) -> None:
        self.workdir = workdir

    async def startStep(self, conn: Any) -> int:
        updates = self.build.master.data.updates
        self.stepid, _, _ = await updates.addStep(self.build.buildid, self.name)
        await updates.startStep(self.stepid)
        self.log.append(self.name)
        for k, v in self.set_props.items():
            self.build.setProperty(k, v, "FakeStep")
        result = self.result
        if self.gate is not None:
            result = await self.gate
        self.results = result
        await updates.finishStep(self.stepid, result, False)
        return result

    def interrupt(self, reason: Any) -> None:
        self.interrupted = reason
        if self.gate is not None and not self.gate.called:
            self.gate.callback(CANCELLED)

    def getBuildResultSummary(self) -> dict[str, str]:
        return {"build": self.build_text} if self.build_text else {}


@implementer(interfaces.IBuildStepFactory)
class StepFactory:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.built: list[FakeStep] = []

    def buildStep(self) -> FakeStep:
        step = FakeStep(*self.args, **self.kwargs)
        self.built.append(step)
        return step


class BuildEngineMixin:
    """A fake master (fake DB, MQ, data) with a real BotMaster and fake workers."""

    async def setUpEngine(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, masterid=1
        )
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=1, name="m"),
                fakedb.Worker(id=11, name="w1"),
                fakedb.Worker(id=12, name="w2"),
            ]
        )
        self.master.workers = FakeWorkers()
        self.botmaster = BotMaster()
        await self.botmaster.setServiceParent(self.master)
        self.master.botmaster = self.botmaster
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    def add_worker(self, name: str, builders: list[str], **kw: Any) -> FakeWorker:
        worker = FakeWorker(name, {"w1": 11, "w2": 12}[name], builders, **kw)
        self.master.workers.workers[name] = worker
        return worker

    async def configure(self, builders: list[dict[str, Any]], **global_cfg: Any) -> None:
        cfg = SimpleNamespace(
            builders=[
                BuilderConfig(
                    name=b["name"],
                    workernames=b.get("workernames", ["w1"]),
                    factory=BuildFactory(b.get("steps", [])),
                    **b.get("extra", {}),
                )
                for b in builders
            ],
            properties=global_cfg.pop("properties", {}),
            collapseRequests=global_cfg.pop("collapseRequests", None),
            prioritizeBuilders=global_cfg.pop("prioritizeBuilders", None),
            select_next_worker=global_cfg.pop("select_next_worker", None),
        )
        self.master.config = cfg
        await self.botmaster.reconfigServiceWithBuildbotConfig(cfg)
        await self.settle()

    async def add_buildset(self, builder: str, **kw: Any) -> dict[int, int]:
        builderid = await self.botmaster.builders[builder].getBuilderId()
        kw.setdefault(
            "sourcestamps",
            [{"branch": "main", "revision": "abc", "repository": "r", "project": "p",
              "codebase": ""}],
        )  # fmt: skip
        _, brids = await self.master.data.updates.addBuildset(
            waited_for=False, builderids=[builderid], **kw
        )
        return brids

    async def settle(self) -> None:
        """Deliver queued events and let the distributor finish its passes."""
        brd = self.botmaster.brd
        for _ in range(10):
            await eventual.flushEventualQueue()
            if brd._loop is not None:
                await brd._wait_loop()

    async def builds(self) -> list[dict[str, Any]]:
        return list(await self.master.data.get(("builds",)))

    async def requests(self) -> dict[int, dict[str, Any]]:
        return {r["buildrequestid"]: r for r in await self.master.data.get(("buildrequests",))}
