import io
import os
import tarfile

from twisted.internet import defer, reactor
from twisted.trial import unittest

from buildbot_worker.commands.registry import COMMANDS
from buildbot_worker.runprocess import CommandEnvError


class Host:
    def __init__(self, basedir):
        self.worker_basedir = basedir
        self.builddir = os.path.join(basedir, "bld")
        os.makedirs(self.builddir)
        self.reactor = reactor
        self.unicode_encoding = "utf-8"
        self.updates = []

    def sendUpdate(self, key, value):
        self.updates.append((key, value))


class FakeRemote:
    """A writer/reader reference: records calls; `read` serves `data`."""

    def __init__(self, data=b""):
        self.calls, self.data, self.written = [], io.BytesIO(data), b""

    def callRemote(self, name, *args):
        self.calls.append((name, *args))
        if name == "write":
            self.written += args[0]
        if name == "read":
            return defer.succeed(self.data.read(args[0]))
        return defer.succeed(None)


class CommandTestMixin:
    timeout = 30

    def setUp(self):
        self.host = Host(os.path.abspath(self.mktemp()))

    async def run_command(self, name, args):
        self.host.updates = []
        cmd = COMMANDS[name](self.host, "3", args)
        await cmd.doStart()
        return dict(self.host.updates)

    def path(self, *parts):
        return os.path.join(self.host.builddir, *parts)

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), "w") as f:
            f.write(text)


class TestFsCommands(CommandTestMixin, unittest.TestCase):
    async def test_mkdir_stat_listdir_glob_rmfile(self):
        up = await self.run_command("mkdir", {"dir": "a/b"})
        self.assertEqual(up["rc"], 0)
        self.assertIn("elapsed", up)
        self.write("a/b/f.txt", "12345")
        up = await self.run_command("stat", {"file": "f.txt", "workdir": "a/b"})
        self.assertEqual(up["stat"][6], 5)
        self.assertEqual(len(up["stat"]), 10)
        up = await self.run_command("listdir", {"dir": "a/b"})
        self.assertEqual(up["files"], ["f.txt"])
        up = await self.run_command("glob", {"path": "a/**/*.txt"})
        self.assertEqual(up["files"], [self.path("a", "b", "f.txt")])
        up = await self.run_command("rmfile", {"path": "a/b/f.txt"})
        self.assertEqual(up["rc"], 0)
        self.assertFalse(os.path.exists(self.path("a/b/f.txt")))

    async def test_errors_report_errno_and_header(self):
        up = await self.run_command("stat", {"file": "missing"})
        self.assertEqual(up["rc"], 2)
        self.assertEqual(up["header"], f"stat: No such file or directory: {self.path('missing')}")
        up = await self.run_command("rmfile", {"path": "missing"})
        self.assertEqual(up["rc"], 2)

    async def test_move(self):
        self.write("a/f.txt", "data")
        up = await self.run_command("move", {"from_path": "a/f.txt", "to_path": "b.txt"})
        self.assertEqual(up["rc"], 0)
        self.assertFalse(os.path.exists(self.path("a/f.txt")))
        with open(self.path("b.txt")) as f:
            self.assertEqual(f.read(), "data")
        up = await self.run_command("move", {"from_path": "a", "to_path": "c"})
        self.assertEqual(up["rc"], 0)
        self.assertTrue(os.path.isdir(self.path("c")))
        up = await self.run_command("move", {"from_path": "nothing", "to_path": "d"})
        self.assertEqual(up["rc"], 2)
        self.assertTrue(up["header"].startswith("move: No such file or directory"))

    def test_missing_argument(self):
        with self.assertRaises(ValueError):
            COMMANDS["mkdir"](self.host, "1", {})

    async def test_rmdir_and_cpdir(self):
        self.write("src/x/y.txt", "y")
        up = await self.run_command("cpdir", {"fromdir": "src", "todir": "dst/copy"})
        self.assertEqual(up["rc"], 0)
        with open(self.path("dst/copy/x/y.txt")) as f:
            self.assertEqual(f.read(), "y")
        up = await self.run_command("rmdir", {"dir": ["dst", "src"], "logEnviron": False})
        self.assertEqual(up["rc"], 0)
        self.assertEqual(os.listdir(self.host.builddir), [])


class TestTransferCommands(CommandTestMixin, unittest.TestCase):
    async def test_upload_file_with_stamp(self):
        self.write("w/f.bin", "x" * 100)
        os.utime(self.path("w/f.bin"), (1000, 2000))
        writer = FakeRemote()
        args = {"workdir": "w", "workersrc": "f.bin", "writer": writer}
        up = await self.run_command(
            "uploadFile", {**args, "maxsize": None, "blocksize": 32, "keepstamp": True}
        )
        self.assertEqual(up["rc"], 0)
        self.assertEqual(writer.written, b"x" * 100)
        names = [c[0] for c in writer.calls]
        self.assertEqual(names, ["write"] * 4 + ["close", "utime"])
        self.assertEqual(writer.calls[-1], ("utime", (1000.0, 2000.0)))

    async def test_upload_file_maxsize_and_missing(self):
        self.write("w/f.bin", "x" * 100)
        writer = FakeRemote()
        args = {"workdir": "w", "workersrc": "f.bin", "writer": writer, "blocksize": 64}
        up = await self.run_command("uploadFile", {**args, "maxsize": 50})
        self.assertEqual((up["rc"], len(writer.written)), (1, 50))
        self.assertIn("Maximum filesize reached", up["stderr"])
        writer = FakeRemote()
        up = await self.run_command(
            "uploadFile", {**args, "workersrc": "nope", "writer": writer, "maxsize": None}
        )
        self.assertEqual(up["rc"], 1)
        self.assertEqual(writer.calls, [("close",)])

    async def test_upload_directory(self):
        for compress in (None, "gz", "bz2"):
            self.write("w/d/sub/a.txt", "a")
            writer = FakeRemote()
            args = {"workdir": "w", "workersrc": "d", "writer": writer, "maxsize": None}
            up = await self.run_command(
                "uploadDirectory", {**args, "blocksize": 100, "compress": compress}
            )
            self.assertEqual(up["rc"], 0)
            self.assertEqual(writer.calls[-1], ("unpack",))
            with tarfile.open(fileobj=io.BytesIO(writer.written)) as tar:
                self.assertIn("sub/a.txt", tar.getnames())

    async def test_upload_missing_directory(self):
        writer = FakeRemote()
        args = {"workdir": "w", "workersrc": "d", "writer": writer, "maxsize": None}
        up = await self.run_command("uploadDirectory", {**args, "blocksize": 1, "compress": None})
        self.assertEqual(up["rc"], 1)
        self.assertIn("Cannot read directory", up["stderr"])
        self.assertEqual(writer.calls, [])

    async def test_download_file(self):
        reader = FakeRemote(b"abc" * 50)
        args = {"workdir": "w", "workerdest": "sub/out", "reader": reader, "blocksize": 16}
        up = await self.run_command("downloadFile", {**args, "maxsize": None, "mode": 0o640})
        self.assertEqual(up["rc"], 0)
        with open(self.path("w/sub/out"), "rb") as f:
            self.assertEqual(f.read(), b"abc" * 50)
        self.assertEqual(os.stat(self.path("w/sub/out")).st_mode & 0o777, 0o640)
        self.assertEqual(reader.calls[-1], ("close",))


class TestShellCommand(CommandTestMixin, unittest.TestCase):
    async def test_shell_env_lists(self):
        up_list = []
        self.host.updates = up_list
        cmd = COMMANDS["shell"](
            self.host,
            "1",
            {
                "command": ["sh", "-c", "echo $P"],
                "workdir": "wd",
                "env": {"P": ["a", "b"]},
                "logEnviron": False,
                "timeout": None,
                "maxTime": None,
            },
        )
        await cmd.doStart()
        out = "".join(v for k, v in up_list if k == "stdout")
        self.assertEqual(out, f"a{os.pathsep}b\n")
        self.assertIn(("rc", 0), up_list)
        self.assertEqual(up_list[-1][0], "elapsed")

    async def test_bad_env_fails_the_command(self):
        cmd = COMMANDS["shell"](
            self.host, "1", {"command": "true", "workdir": "w", "env": {"X": 1}}
        )
        with self.assertRaises(CommandEnvError):
            await cmd.doStart()
