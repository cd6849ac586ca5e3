"""A forced buildset becomes a build that runs a shell command on a real worker.

The master lives in the test process: a fake master with the real PBManager,
WorkerManager, BotMaster and data API on SQLite; the worker is our own
`buildbot-worker` program, started from the virtualenv beside this Python.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from twisted.internet import error, reactor, task
from twisted.trial import unittest
from zope.interface import implementer

from buildbot import interfaces
from buildbot.config.builder import BuilderConfig
from buildbot.config.master import MasterConfig
from buildbot.data.connector import DataConnector
from buildbot.pbmanager import PBManager
from buildbot.process.botmaster import BotMaster
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import RemoteShellCommand
from buildbot.process.results import SUCCESS
from buildbot.test.fake import fakemq
from buildbot.test.fakedb import rows as fakedb
from buildbot.test.util import db
from buildbot.test.util.processes import ChildProcess
from buildbot.worker import Worker
from buildbot.worker.manager import WorkerManager

WORKER, PASSWORD = "w1", "w1-secret"
BUILDER, BUILDDIR = "b1", "b1dir"


class EchoStep:
    """A step following the build engine's contract that runs one shell command."""

    haltOnFailure = flunkOnFailure = True
    flunkOnWarnings = warnOnFailure = warnOnWarnings = alwaysRun = hidden = False

    def __init__(self) -> None:
        self.results: int | None = None
        self.cmd: Any = None

    def setBuild(self, build: Any) -> None:
        self.build = build

    def setWorker(self, worker: Any) -> None:
        self.worker = worker

    def setDefaultWorkdir(self, workdir: Any) -> None:
        self.workdir = workdir

    async def startStep(self, conn: Any) -> int:
        updates = self.build.master.data.updates
        stepid, _, _ = await updates.addStep(self.build.buildid, "echo")
        await updates.startStep(stepid)
        self.cmd = RemoteShellCommand(
            self.workdir, "echo built-by-$WORKERNAME", env={"WORKERNAME": WORKER},
            collectStdout=True, logEnviron=False,
        )  # fmt: skip
        await self.cmd.run(self, conn, self.build.builder.name)
        self.results = self.cmd.results()
        self.build.setProperty("echoed", self.cmd.stdout.strip(), "EchoStep")
        await updates.finishStep(stepid, self.results, False)
        return self.results

    def interrupt(self, reason: Any) -> None:
        if self.cmd is not None:
            self.cmd.interrupt(reason)


@implementer(interfaces.IBuildStepFactory)
class EchoFactory:
    def buildStep(self) -> EchoStep:
        return EchoStep()


class TestBuildEndToEnd(db.SQLiteDBMixin, unittest.TestCase):
    timeout = 120

    async def setUp(self) -> None:
        await super().setUp()
        master = self.master
        await self.insert_test_data([fakedb.Master(id=master.masterid, name=master.name)])
        master.mq = fakemq.FakeMQConnector(self)
        await master.mq.setServiceParent(master)
        master.data = DataConnector()
        await master.data.setServiceParent(master)
        master.pbmanager = PBManager()
        await master.pbmanager.setServiceParent(master)
        master.botmaster = BotMaster()
        await master.botmaster.setServiceParent(master)
        master.workers = WorkerManager()
        await master.workers.setServiceParent(master)
        cfg = MasterConfig()
        cfg.protocols = {"pb": {"port": "tcp:0:interface=127.0.0.1"}}
        cfg.workers = [Worker(WORKER, PASSWORD)]
        factory = BuildFactory([EchoFactory()])
        cfg.builders = [
            BuilderConfig(name=BUILDER, workernames=[WORKER], builddir=BUILDDIR, factory=factory)
        ]
        master.config = cfg
        await master.startService()
        self.addCleanup(master.stopService)
        await master.botmaster.reconfigServiceWithBuildbotConfig(cfg)
        await master.workers.reconfigServiceWithBuildbotConfig(cfg)
        self.port = master.workers.pb.getRegistration(WORKER).getPort()
        self.worker = master.workers.getWorkerByName(WORKER)
        self.basedir = os.path.abspath(self.mktemp())
        await self.start_worker()

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        return env

    async def start_worker(self) -> None:
        program = os.path.join(os.path.dirname(sys.executable), "buildbot-worker")
        tmpdir = os.path.dirname(self.basedir)
        os.makedirs(tmpdir, exist_ok=True)
        create = ChildProcess()
        argv = [program, "create-worker", "-q", self.basedir, f"127.0.0.1:{self.port}",
                WORKER, PASSWORD]  # fmt: skip
        reactor.spawnProcess(create, program, argv, env=self.child_env(), path=tmpdir)
        reason = await create.ended
        self.assertIsInstance(reason, error.ProcessDone, create.output.decode())
        self.child = ChildProcess()
        argv = [program, "start", "--nodaemon", self.basedir]
        self.transport = reactor.spawnProcess(
            self.child, program, argv, env=self.child_env(), path=self.basedir
        )
        self.addCleanup(self.kill_worker)

    async def kill_worker(self) -> None:
        if not self.child.running:
            return
        try:
            self.transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            return
        await self.child.ended

    async def wait_for(self, what: str, check: Any, limit: float = 60) -> Any:
        deadline = time.monotonic() + limit
        while True:
            value = await check()
            if value:
                return value
            if time.monotonic() > deadline or not self.child.running:
                self.fail(f"gave up waiting for {what}\n{bytes(self.child.output[-2000:])!r}")
            await task.deferLater(reactor, 0.1, lambda: None)

    async def test_forced_buildset_runs_on_the_worker(self) -> None:
        master = self.master
        builderid = await master.botmaster.builders[BUILDER].getBuilderId()
        _, brids = await master.data.updates.addBuildset(
            waited_for=False,
            scheduler="force",
            reason="e2e",
            sourcestamps=[{"codebase": "", "branch": "main", "repository": "", "project": ""}],
            properties={"owner": ("me", "Force Build Form")},
            builderids=[builderid],
        )

        async def finished_build() -> Any:
            builds = list(await master.data.get(("builds",)))
            return builds[0] if builds and builds[0]["complete"] else None

        build = await self.wait_for("the build to finish", finished_build)
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(build["state_string"], "build successful")
        self.assertEqual(build["workerid"], self.worker.workerid)
        steps = await master.data.get(("builds", build["buildid"], "steps"))
        self.assertEqual(
            [(s["name"], s["results"]) for s in steps],
            [("worker_preparation", SUCCESS), ("echo", SUCCESS)],
        )
        self.assertEqual(steps[0]["state_string"], "worker ready")
        props = await master.data.get(("builds", build["buildid"], "properties"))
        self.assertEqual(props["echoed"], ("built-by-w1", "EchoStep"))
        self.assertEqual(props["builddir"][0], os.path.join(self.basedir, BUILDDIR))
        self.assertEqual(props["owners"], (["me"], "Build"))
        (brid,) = brids.values()
        request = await master.data.get(("buildrequests", brid))
        self.assertTrue(request["complete"])
        self.assertEqual(request["results"], SUCCESS)
        self.assertTrue(os.path.isdir(os.path.join(self.basedir, BUILDDIR, "build")))
