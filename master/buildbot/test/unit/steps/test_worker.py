from __future__ import annotations

import stat

from twisted.trial import unittest

from buildbot.process import buildstep
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.steps import worker
from buildbot.test.steps import StepTestMixin

FILE_STAT = (stat.S_IFREG | 0o644, 1, 1, 1, 0, 0, 10, 0, 0, 0)
DIR_STAT = (stat.S_IFDIR | 0o755, 1, 1, 1, 0, 0, 10, 0, 0, 0)


class WorkerStepsTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_remove_make_copy(self):
        for step, command, args in (
            (worker.RemoveDirectory(dir="d"), "rmdir", {"dir": "d"}),
            (worker.MakeDirectory(dir="d"), "mkdir", {"dir": "d"}),
            (worker.CopyDirectory(src="s", dest="t"), "cpdir", {"fromdir": "s", "todir": "t"}),
        ):
            self.setup_step(step)
            self.conn.expect(command, args)
            self.assertEqual(await self.run_step(), SUCCESS)
            self.setup_step(step)
            self.conn.expect(command, args, rc=1)
            self.assertEqual(await self.run_step(), FAILURE)

    async def test_file_exists(self):
        for stats, rc, expected, summary in (
            (FILE_STAT, 0, SUCCESS, "File found."),
            (DIR_STAT, 0, FAILURE, "Not a file. (failure)"),
            (None, 1, FAILURE, "File not found. (failure)"),
        ):
            self.setup_step(worker.FileExists(file="f"))
            updates = [{"stat": stats}] if stats else []
            self.conn.expect("stat", {"file": "f"}, updates=updates, rc=rc)
            self.assertEqual(await self.run_step(), expected)
            self.assertEqual((await self.step_row())["state_string"], summary)

    async def test_missing_command(self):
        del self.conn.info["worker_commands"]["rmdir"]
        self.setup_step(worker.RemoveDirectory(dir="d"))
        self.assertEqual(await self.run_step(), 4)
        self.flushLoggedErrors(buildstep.WorkerSetupError)


class CompositeTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_helpers(self):
        class Composite(worker.CompositeStepMixin, buildstep.BuildStep):
            async def run(self):
                self.addLogForRemoteCommands("cmds")
                self.exists = await self.pathExists("f")
                self.files = await self.runGlob("*.o")
                self.content = await self.getFileContentFromWorker("f")
                self.missing = await self.getFileContentFromWorker("g")
                await self.downloadFileContentToWorker("dest", "text")
                await self.runMkdir("m")
                await self.runRmFile("r")
                await self.runRmdir("d")
                return SUCCESS

        self.setup_step(Composite())
        self.conn.expect("stat", {"file": "f"}, updates=[{"header": "statting\n"}])
        self.conn.expect("glob", {"path": "*.o"}, updates=[{"files": ["a.o", "b.o"]}])
        self.conn.expect(
            "uploadFile",
            {"workersrc": "f", "workdir": "wkdir"},
            action=lambda args: args["writer"].remote_write(b"hello"),
        )
        self.conn.expect("uploadFile", {"workersrc": "g"}, rc=1)
        self.conn.expect("downloadFile", {"workerdest": "dest", "workdir": "wkdir"})
        self.conn.expect("mkdir", {"dir": "m"})
        self.conn.expect("rmfile", {"path": "r"})
        self.conn.expect("rmdir", {"dir": "d"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        step = self.step
        self.assertEqual((step.exists, step.files), (True, ["a.o", "b.o"]))
        self.assertEqual((step.content, step.missing), ("hello", None))
        self.assertIn("hstatting\n", await self.log_text("cmds"))

    async def test_path_missing(self):
        class Check(worker.CompositeStepMixin, buildstep.BuildStep):
            async def run(self):
                return SUCCESS if await self.pathExists("nope") else FAILURE

        self.setup_step(Check())
        self.conn.expect("stat", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
