"""Running one step in a unit test: a fake build on a fake master, a scripted worker.

class MyTests(StepTestMixin, unittest.TestCase):
    async def setUp(self):
        await self.setup_step_test()

    async def test_it(self):
        self.setup_step(ShellCommand(command="make"))
        self.conn.expect("shell", {"command": "make"}, updates=[{"stdout": "hi\\n"}])
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(await self.log_text("stdio"), "ohi\\n...")
"""

from __future__ import annotations

import posixpath
from types import SimpleNamespace
from typing import Any

from buildbot.process.locks import LockRegistry
from buildbot.process.properties import Properties, PropertiesMixin
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.fake.fakeconnection import FakeConnection
from buildbot.test.reactor import TestReactorMixin

MASTERID = 824
BUILDERID = 5
BUILDID = 12
WORKERID = 1


class FakeBuild(PropertiesMixin):
    """What a step needs of its build."""

    def __init__(self, master: Any, conn: Any, buildid: int = BUILDID) -> None:
        self.master = master
        self.conn = conn
        self.buildid = buildid
        self.number = 1
        self.builderid = BUILDERID
        self.builder = SimpleNamespace(name="builder", builderid=BUILDERID)
        self.properties = Properties()
        self.properties.build = self
        self.workdir: Any = "build"
        self.env: dict[str, Any] = {}
        self.sources: list[Any] = []
        self.lock_registry = LockRegistry()
        self.config_version = 1
        self.workername = "w1"
        self.path_module: Any = posixpath

    def getProperties(self) -> Properties:
        return self.properties

    def getWorkerName(self) -> str:
        return self.workername

    def getSourceStamp(self, codebase: str = "") -> Any:
        return None

    def getAllSourceStamps(self) -> list[Any]:
        return list(self.sources)


class StepTestMixin(TestReactorMixin):
    async def setup_step_test(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=BUILDERID, name="builder"),
                fakedb.Worker(id=WORKERID, name="w1"),
                fakedb.Buildset(id=10),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=BUILDERID),
                fakedb.Build(
                    id=BUILDID, number=1, builderid=BUILDERID, buildrequestid=11, masterid=MASTERID
                ),
            ]
        )
        self.updates = self.master.data.updates
        self.conn = FakeConnection()
        self.build = FakeBuild(self.master, self.conn)
        self.worker = SimpleNamespace(workername="w1")

    def setup_step(self, step: Any, **props: Any) -> Any:
        """The per-build instance of the configured `step`, set up on the fake build."""
        for name, value in props.items():
            self.build.setProperty(name, value, "Test")
        self.step = step.get_step_factory().buildStep()
        self.step.setBuild(self.build)
        self.step.setWorker(self.worker)
        self.step.setDefaultWorkdir("wkdir")
        return self.step

    async def run_step(self, advance: float = 1.0, limit: int = 1000) -> int:
        """Start the step and move time until it ends; every expected command must run."""
        d = self.step.startStep(self.conn)
        for _ in range(limit):
            if d.called:
                break
            self.reactor.advance(advance)
        results = await d
        self.conn.assert_all_used()
        return results

    async def step_row(self) -> dict[str, Any]:
        return await self.master.data.get(("steps", self.step.stepid))

    async def log_names(self) -> list[str]:
        logs = await self.master.data.get(("steps", self.step.stepid, "logs"))
        return [lg["name"] for lg in logs]

    async def log_text(self, name: str) -> str:
        lg = self.step.logs[name]
        got = await self.master.data.get(("logs", lg.logid, "contents"))
        return got["content"] if got else ""
