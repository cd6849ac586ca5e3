"""A forced buildset becomes a build that runs a shell command on a real worker.

The master lives in the test process: a fake master with the real PBManager,
WorkerManager, BotMaster and data API on SQLite; the worker is our own
`buildbot-worker` program, started from the virtualenv beside this Python.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.trial import unittest
from zope.interface import implementer

from buildbot import interfaces
from buildbot.config.builder import BuilderConfig
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import RemoteShellCommand
from buildbot.process.results import SUCCESS
from buildbot.test.util import db, processes, workermaster
from buildbot.worker import Worker

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
        factory = BuildFactory([EchoFactory()])
        builder = BuilderConfig(
            name=BUILDER, workernames=[WORKER], builddir=BUILDDIR, factory=factory
        )
        await workermaster.start_worker_master(
            self,
            protocols={"pb": {"port": "tcp:0:interface=127.0.0.1"}},
            workers=[Worker(WORKER, PASSWORD)],
            builders=[builder],
            botmaster=True,
        )
        self.port = self.master.workers.pb.getRegistration(WORKER).getPort()
        self.worker = self.master.workers.getWorkerByName(WORKER)
        self.basedir = os.path.abspath(self.mktemp())
        await self.start_worker()

    def child_env(self) -> dict[str, str]:
        return processes.child_env(os.path.dirname(sys.executable))

    async def start_worker(self) -> None:
        program = os.path.join(os.path.dirname(sys.executable), "buildbot-worker")
        tmpdir = os.path.dirname(self.basedir)
        os.makedirs(tmpdir, exist_ok=True)
        argv = [program, "create-worker", "-q", self.basedir, f"127.0.0.1:{self.port}",
                WORKER, PASSWORD]  # fmt: skip
        await processes.run_program(self, argv, self.child_env(), tmpdir)
        self.child, self.transport = processes.start_worker(program, self.basedir, self.child_env())
        self.addCleanup(self.kill_worker)

    async def kill_worker(self) -> None:
        await processes.kill_worker(self.child, self.transport)

    async def wait_for(self, what: str, check: Any, limit: float = 60) -> Any:
        return await processes.wait_for(
            self,
            what,
            check,
            limit,
            child=self.child,
            details=lambda: repr(bytes(self.child.output[-2000:])),
        )

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
