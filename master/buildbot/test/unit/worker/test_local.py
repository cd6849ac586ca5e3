"""LocalWorker: the worker program runs in the master process, over the null protocol.

The master is a fake one with the real WorkerManager and the real data API on
SQLite. Commands run real processes, so the reactor is the real one.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.internet import defer, reactor
from twisted.python import failure
from twisted.spread import pb
from twisted.trial import unittest

from buildbot import config
from buildbot.config.builder import BuilderConfig
from buildbot.process import remotetransfer
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import RemoteCommand, RemoteShellCommand, isConnectionLost
from buildbot.process.results import CANCELLED, FAILURE, SUCCESS
from buildbot.test.util import db, workermaster
from buildbot.worker.local import LocalWorker
from buildbot.worker.protocols import null

WORKER, BUILDER, BUILDDIR = "local1", "b1", "b1dir"
PY = sys.executable


class LocalWorkerMasterMixin(db.SQLiteDBMixin):
    """A master serving one builder on a LocalWorker named `WORKER`."""

    def make_worker(self) -> LocalWorker:
        return LocalWorker(WORKER)

    async def setUp(self) -> None:
        await super().setUp()
        builder = BuilderConfig(
            name=BUILDER, workernames=[WORKER], builddir=BUILDDIR, factory=BuildFactory()
        )
        await workermaster.start_worker_master(
            self,
            protocols={"null": {}},
            workers=[self.make_worker()],
            builders=[builder],
            pbmanager=False,
        )
        self.worker = self.master.workers.getWorkerByName(WORKER)

    async def run_command(self, cmd: RemoteCommand, limit: float = 30) -> RemoteCommand:
        return await workermaster.run_command(self, self.worker.conn, BUILDER, cmd, limit)


class TestLocalWorkerConfig(unittest.TestCase):
    def errors(self, *args: Any, **kwargs: Any) -> list[str]:
        with config.capture_config_errors() as errors:
            LocalWorker(*args, **kwargs)
        return errors.errors

    def test_no_password(self) -> None:
        self.assertEqual(self.errors("w", workdir="wd", max_builds=2), [])
        w = LocalWorker("w")
        self.assertEqual((w.name, w.workername, w.workdir), ("w", "w", None))
        self.assertFalse(w.uses_pb)

    def test_bad_settings(self) -> None:
        errors = self.errors("w", workdir=3, max_builds=0)
        self.assertEqual(len(errors), 2, errors)


class TestLocalWorker(LocalWorkerMasterMixin, unittest.TestCase):
    timeout = 60

    def build_path(self, *parts: str) -> str:
        return os.path.join(self.worker.basedir, BUILDDIR, *parts)

    async def test_attached_on_start(self) -> None:
        basedir = os.path.join(self.master.basedir, "workers", WORKER)
        self.assertEqual(self.worker.basedir, basedir)
        self.assertTrue(os.path.isdir(os.path.join(basedir, BUILDDIR)))
        self.assertIsInstance(self.worker.conn, null.Connection)
        self.assertEqual(list(self.worker.conn.builders), [BUILDER])
        self.assertIn("shell", self.worker.conn.info["worker_commands"])
        self.assertEqual(self.worker.info["basedir"], basedir)
        row = await self.master.data.get(("workers", self.worker.workerid))
        self.assertEqual(row["connected_to"], [{"masterid": self.master.masterid}])
        info = row["workerinfo"]
        self.assertEqual(set(info), {"admin", "host", "access_uri", "version"})
        self.assertTrue(info["version"])
        self.assertTrue(info["host"])
        self.assertTrue(info["admin"])

    async def test_stop_detaches(self) -> None:
        await self.master.workers.removeService(self.worker)
        self.assertIsNone(self.worker.conn)
        row = await self.master.data.get(("workers", self.worker.workerid))
        self.assertEqual(row["connected_to"], [])

    async def test_shell(self) -> None:
        script = "import sys; print('out'); sys.stderr.write('err\\n'); sys.exit(2)"
        cmd = RemoteShellCommand(
            "build", [PY, "-c", script], collectStdout=True, collectStderr=True
        )
        await self.run_command(cmd)
        self.assertEqual(cmd.rc, 2)
        self.assertEqual(cmd.results(), FAILURE)
        self.assertEqual(cmd.stdout, "out\n")
        self.assertEqual(cmd.stderr, "err\n")
        self.assertEqual(cmd.stdio.stdout, "out\n")
        self.assertIn("program finished with exit code 2", cmd.stdio.header)
        self.assertTrue(os.path.isdir(self.build_path("build")))

    async def test_shell_success(self) -> None:
        cmd = await self.run_command(RemoteShellCommand("build", [PY, "-c", "pass"]))
        self.assertEqual((cmd.rc, cmd.results()), (0, SUCCESS))

    async def test_shell_interrupt(self) -> None:
        cmd = RemoteShellCommand(
            "build", [PY, "-c", "import time; time.sleep(30)"], interruptSignal="KILL"
        )
        d = defer.ensureDeferred(self.run_command(cmd))
        # the process is spawned as the command starts, synchronously
        await cmd.interrupt("because")
        await d
        self.assertEqual(cmd.rc, -1)
        self.assertEqual(cmd.results(), CANCELLED)
        self.assertIn("command interrupted", cmd.stdio.header)

    async def test_unknown_command_fails(self) -> None:
        # the worker's UnknownCommand, a pb.Error as over PB
        with self.assertRaises(pb.Error):
            await self.run_command(RemoteCommand("no-such-command", {}))

    async def test_upload_file(self) -> None:
        os.makedirs(self.build_path("build"), exist_ok=True)
        data = os.urandom(50_000)
        with open(self.build_path("build", "up.bin"), "wb") as f:
            f.write(data)
        dest = os.path.abspath(os.path.join(self.mktemp(), "up.bin"))
        os.makedirs(os.path.dirname(dest))
        writer = remotetransfer.FileWriter(dest, None, 0o640)
        args = {"workdir": "build", "workersrc": "up.bin", "writer": writer,
                "maxsize": None, "blocksize": 8192, "keepstamp": False}  # fmt: skip
        cmd = await self.run_command(RemoteCommand("uploadFile", args))
        self.assertEqual(cmd.rc, 0)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o640)

    async def test_download_file(self) -> None:
        reader = remotetransfer.StringFileReader(b"downloaded\n" * 1000)
        args = {"workdir": "build", "workerdest": "sub/dl.txt", "reader": reader,
                "maxsize": None, "blocksize": 4096, "mode": 0o600}  # fmt: skip
        cmd = await self.run_command(RemoteCommand("downloadFile", args))
        self.assertEqual(cmd.rc, 0)
        target = self.build_path("build", "sub", "dl.txt")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"downloaded\n" * 1000)
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)
        self.assertIsNone(reader.fp)

    async def test_stop_during_command_loses_it(self) -> None:
        cmd = RemoteShellCommand("build", [PY, "-c", "import time; time.sleep(30)"])
        d = defer.ensureDeferred(self.run_command(cmd))
        await self.master.workers.removeService(self.worker)
        with self.assertRaises(Exception) as caught:
            await d
        self.assertTrue(isConnectionLost(failure.Failure(caught.exception)), caught.exception)
        row = await self.master.data.get(("workers", self.worker.workerid))
        self.assertEqual(row["connected_to"], [])

    async def test_shutdown_detaches(self) -> None:
        conn = self.worker.conn
        gone: defer.Deferred[None] = defer.Deferred()
        conn.notifyOnDisconnect(lambda: gone.callback(None))
        await self.worker.shutdown()
        await gone.addTimeout(10, reactor)
        self.assertIsNone(self.worker.conn)
        with self.assertRaises(pb.PBConnectionLost):
            await conn.remotePrint("anyone?")
        await self.worker._detaching


class TestLocalWorkerWorkdir(LocalWorkerMasterMixin, unittest.TestCase):
    def make_worker(self) -> LocalWorker:
        return LocalWorker(WORKER, workdir="elsewhere")

    def test_basedir_from_workdir(self) -> None:
        basedir = os.path.join(self.master.basedir, "workers", "elsewhere")
        self.assertEqual(self.worker.basedir, basedir)
        self.assertTrue(os.path.isdir(os.path.join(basedir, BUILDDIR)))
        self.assertIsNotNone(self.worker.conn)


class FakeMasterObject(pb.Referenceable):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def remote_echo(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return args


class TestLocalReference(unittest.TestCase):
    def setUp(self) -> None:
        self.conn = null.Connection("w", bot=None)

    async def test_call_reaches_remote_method(self) -> None:
        target = FakeMasterObject()
        ref = null.LocalReference(self.conn, target)
        self.assertEqual(await ref.callRemote("echo", 1, k=2), (1,))
        self.assertEqual(target.calls, [((1,), {"k": 2})])

    async def test_unknown_method_fails(self) -> None:
        ref = null.LocalReference(self.conn, FakeMasterObject())
        with self.assertRaises(AttributeError):
            await ref.callRemote("nothing")

    async def test_gone_connection_fails(self) -> None:
        ref = null.LocalReference(self.conn, FakeMasterObject())
        self.conn.notifyDisconnected()
        with self.assertRaises(pb.PBConnectionLost):
            await ref.callRemote("echo")

    def test_arguments_are_copied_and_referenceables_wrapped(self) -> None:
        target = FakeMasterObject()
        args = {"writer": target, "list": [1, {"x": target}], "t": (1, 2)}
        wrapped = self.conn._wrap(args)
        self.assertIsNot(wrapped, args)
        self.assertIsInstance(wrapped["writer"], null.LocalReference)
        self.assertIs(wrapped["writer"].obj, target)
        self.assertIsInstance(wrapped["list"][1]["x"], null.LocalReference)
        self.assertEqual(wrapped["t"], (1, 2))
        self.assertIs(args["writer"], target)
