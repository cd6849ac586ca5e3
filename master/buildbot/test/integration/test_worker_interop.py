"""A real worker program connects to our master over PB and runs every command.

The master lives in the test process: a fake master with the real PBManager,
WorkerManager and Worker, the real data API on SQLite. The worker program is a
parameter (`worker_bin`): the real buildbot-worker 4.3.0 here (from the
virtualenv that `bash .ci/buildbot43-venv` makes, named by BUILDBOT43_VENV); a
later suite runs the same tests against our own worker.
"""

from __future__ import annotations

import os
import signal
import sys
import tarfile
import time
from typing import Any

from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, protocol, reactor, task
from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.process import remotetransfer
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import RemoteCommand, RemoteShellCommand, isConnectionLost
from buildbot.process.results import CANCELLED, FAILURE, SUCCESS
from buildbot.test.fake.remotelog import InMemoryLog
from buildbot.test.util import db, processes, workermaster
from buildbot.test.util.db import _in_ci
from buildbot.worker import Worker

SETUP_COMMAND = "bash .ci/buildbot43-venv && set -a && . build/buildbot43.env && set +a"
WORKER, PASSWORD = "w1", "w1-secret"
BUILDER, BUILDDIR = "b1", "b1dir"
PY = sys.executable


class WorkerInteropMixin(db.SQLiteDBMixin):
    """The tests; a subclass says which worker program runs (`worker_bin`)."""

    timeout = 240
    connect_limit = 60.0
    #: the c['protocols'] key the worker connects with
    protocol = "pb"

    def worker_bin(self) -> str:
        raise NotImplementedError

    # ---- set-up ---------------------------------------------------------------

    async def setUp(self) -> None:
        self.program = self.worker_bin()
        await super().setUp()
        builder = BuilderConfig(
            name=BUILDER, workernames=[WORKER], builddir=BUILDDIR, factory=BuildFactory()
        )
        await workermaster.start_worker_master(
            self,
            protocols={self.protocol: {"port": "tcp:0:interface=127.0.0.1"}},
            workers=[Worker(WORKER, PASSWORD)],
            builders=[builder],
        )
        registration = self.listener().getRegistration(WORKER)
        self.port = registration.getPort()
        self.assertIsNotNone(self.port)
        self.worker = self.master.workers.getWorkerByName(WORKER)
        self.basedir = os.path.abspath(self.mktemp())
        self.builddir = os.path.join(self.basedir, BUILDDIR)
        await self.start_worker()

    def listener(self) -> Any:
        return self.master.workers.pb if self.protocol == "pb" else self.master.workers.msgpack

    def child_env(self) -> dict[str, str]:
        return processes.child_env(os.path.dirname(self.program))

    async def run_program(self, argv: list[str]) -> str:
        return await processes.run_program(self, argv, self.child_env(), self.tmpdir)

    async def start_worker(self) -> None:
        self.tmpdir = os.path.dirname(self.basedir)
        os.makedirs(self.tmpdir, exist_ok=True)
        protocol_args = [] if self.protocol == "pb" else [f"--protocol={self.protocol}"]
        await self.run_program(
            [self.program, "create-worker", "-q", "--keepalive=10", *protocol_args, self.basedir,
             f"127.0.0.1:{self.port}", WORKER, PASSWORD]
        )  # fmt: skip
        self.child, self.transport = processes.start_worker(
            self.program, self.basedir, self.child_env()
        )
        self.addCleanup(self.kill_worker)
        await self.wait_for("the worker to connect", lambda: self.worker.conn is not None)
        await self.wait_for("the builder list", lambda: BUILDER in self.worker.conn.builders)

    async def kill_worker(self) -> None:
        await processes.kill_worker(self.child, self.transport)

    async def wait_for(self, what: str, check, limit: float | None = None) -> None:
        limit = self.connect_limit if limit is None else limit
        await processes.wait_for(
            self, what, check, limit, child=self.child, details=self._failure_details
        )

    def _failure_details(self) -> str:
        log_text = _read(os.path.join(self.basedir, "twistd.log"))[-3000:]
        return f"{self.child.output[-2000:]!r}\n{log_text}"

    async def run_command(self, cmd: RemoteCommand, limit: float = 60) -> RemoteCommand:
        return await workermaster.run_command(self, self.worker.conn, BUILDER, cmd, limit)

    def shell(self, command: Any, **kwargs: Any) -> RemoteShellCommand:
        kwargs.setdefault("collectStdout", True)
        kwargs.setdefault("collectStderr", True)
        kwargs.setdefault("logEnviron", False)
        return RemoteShellCommand("build", command, **kwargs)

    def build_path(self, *parts: str) -> str:
        return os.path.join(self.builddir, *parts)

    # ---- tests ---------------------------------------------------------------------

    async def test_all_commands(self) -> None:
        await self.check_connected_row()
        await self.check_shell()
        await self.check_shell_failure_and_stdin()
        await self.check_shell_timeout()
        await self.check_shell_logfiles()
        await self.check_shell_interrupt()
        await self.check_upload_file()
        await self.check_upload_directory()
        await self.check_download_file()
        await self.check_file_system_commands()

    async def check_connected_row(self) -> None:
        row = await self.master.data.get(("workers", self.worker.workerid))
        self.assertEqual(row["connected_to"], [{"masterid": self.master.masterid}])
        self.assertEqual(set(row["workerinfo"]), {"admin", "host", "access_uri", "version"})
        self.assertTrue(row["workerinfo"]["version"])
        self.assertIn("shell", self.worker.conn.info["worker_commands"])
        self.assertEqual(self.worker.info["basedir"], self.basedir)

    async def check_shell(self) -> None:
        extra = self.build_path("extra-bin")
        script = "import os; print(os.environ['GREETING']); print(os.environ['PATH'])"
        cmd = await self.run_command(
            self.shell(
                [PY, "-c", script],
                env={"GREETING": "hello ${HOME}", "PATH": [extra, "${PATH}"]},
                logEnviron=True,
            )
        )
        self.assertEqual(cmd.rc, 0)
        self.assertEqual(cmd.results(), SUCCESS)
        lines = cmd.stdout.splitlines()
        self.assertEqual(lines[0], f"hello {os.environ.get('HOME', '')}")
        self.assertTrue(lines[1].startswith(extra + os.pathsep), lines[1])
        self.assertIn("program finished with exit code 0", cmd.stdio.header)
        self.assertIn("GREETING=", cmd.stdio.header)
        self.assertEqual(cmd.stdio.stdout, cmd.stdout)
        self.assertIn("elapsed", cmd.updates)

    async def check_shell_failure_and_stdin(self) -> None:
        script = "import sys; d = sys.stdin.read(); sys.stderr.write(d.upper()); sys.exit(3)"
        cmd = await self.run_command(self.shell([PY, "-c", script], initialStdin="abc\n"))
        self.assertEqual(cmd.rc, 3)
        self.assertEqual(cmd.results(), FAILURE)
        self.assertTrue(cmd.didFail())
        self.assertEqual(cmd.stderr, "ABC\n")
        self.assertEqual(cmd.stdio.stderr, "ABC\n")

    async def check_shell_timeout(self) -> None:
        cmd = await self.run_command(
            self.shell([PY, "-c", "import time; time.sleep(30)"], timeout=1)
        )
        self.assertEqual(cmd.rc, -1)
        self.assertEqual(cmd.updates.get("failure_reason"), ["timeout_without_output"])
        self.assertIn("command timed out: 1 seconds without output", cmd.stdio.header)

    async def check_shell_logfiles(self) -> None:
        script = (
            "import time\n"
            "with open('side.log', 'w') as f:\n"
            "    f.write('side line\\n')\n"
            "time.sleep(2.5)\n"
        )
        side = InMemoryLog("side")
        cmd = self.shell([PY, "-c", script], logfiles={"side": "side.log"})
        cmd.useLog(side, closeWhenFinished=True, logfileName="side")
        cmd = await self.run_command(cmd)
        self.assertEqual(cmd.rc, 0)
        self.assertIn("side line\n", side.stdout)
        self.assertTrue(side.finished)

    async def check_shell_interrupt(self) -> None:
        cmd = self.shell([PY, "-c", "import time; time.sleep(30)"], interruptSignal="KILL")
        d = defer.ensureDeferred(self.run_command(cmd))
        await task.deferLater(reactor, 1.0, lambda: None)
        await cmd.interrupt("because")
        await d
        self.assertEqual(cmd.rc, -1)
        self.assertEqual(cmd.results(), CANCELLED)
        self.assertIn("command interrupted", cmd.stdio.header)

    async def check_upload_file(self) -> None:
        os.makedirs(self.build_path("build"), exist_ok=True)
        data = os.urandom(100_000)
        with open(self.build_path("build", "up.bin"), "wb") as f:
            f.write(data)
        os.utime(self.build_path("build", "up.bin"), (1_600_000_000, 1_600_000_100))
        dest = os.path.join(self.tmpdir, "uploaded", "up.bin")
        writer = remotetransfer.FileWriter(dest, None, 0o640)
        args = {"workdir": "build", "workersrc": "up.bin", "writer": writer,
                "maxsize": None, "blocksize": 16384, "keepstamp": True}  # fmt: skip
        cmd = await self.run_command(
            RemoteCommand("uploadFile", args, decodeRC={None: SUCCESS, 0: SUCCESS})
        )
        self.assertEqual(cmd.results(), SUCCESS)
        self.assertEqual(_read_bytes(dest), data)
        self.assertEqual(int(os.stat(dest).st_mtime), 1_600_000_100)
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o640)
        # maxsize truncates, and the worker says so
        dest2 = os.path.join(self.tmpdir, "uploaded", "small.bin")
        args = dict(args, writer=remotetransfer.FileWriter(dest2, 1000, None), maxsize=1000)
        cmd = await self.run_command(RemoteCommand("uploadFile", args))
        self.assertEqual(cmd.rc, 1)
        self.assertEqual(_read_bytes(dest2), data[:1000])
        self.assertIn("Maximum filesize reached", cmd.stdio.stderr)

    async def check_upload_directory(self) -> None:
        src = self.build_path("build", "tree")
        os.makedirs(os.path.join(src, "sub"), exist_ok=True)
        with open(os.path.join(src, "a.txt"), "w") as f:
            f.write("A")
        with open(os.path.join(src, "sub", "b.txt"), "w") as f:
            f.write("B")
        dest = os.path.join(self.tmpdir, "uploaded-tree")
        for compress in (None, "gz"):
            writer = remotetransfer.DirectoryWriter(dest, None, compress, None)
            args = {"workdir": "build", "workersrc": "tree", "writer": writer,
                    "maxsize": None, "blocksize": 4096, "compress": compress}  # fmt: skip
            cmd = await self.run_command(RemoteCommand("uploadDirectory", args))
            self.assertEqual(cmd.rc, 0, cmd.stdio.chunks)
            self.assertEqual(_read(os.path.join(dest, "a.txt")), "A")
            self.assertEqual(_read(os.path.join(dest, "sub", "b.txt")), "B")

    async def check_download_file(self) -> None:
        data = os.urandom(70_000)
        src = os.path.join(self.tmpdir, "to-download.bin")
        with open(src, "wb") as f:
            f.write(data)
        reader = remotetransfer.FileReader(open(src, "rb"))
        args = {"workdir": "build", "workerdest": "sub/dl.bin", "reader": reader,
                "maxsize": None, "blocksize": 8192, "mode": 0o600}  # fmt: skip
        cmd = await self.run_command(RemoteCommand("downloadFile", args))
        self.assertEqual(cmd.rc, 0)
        target = self.build_path("build", "sub", "dl.bin")
        self.assertEqual(_read_bytes(target), data)
        self.assertEqual(os.stat(target).st_mode & 0o777, 0o600)
        self.assertIsNone(reader.fp)
        reader = remotetransfer.StringFileReader("small text")
        args = dict(args, reader=reader, workerdest="small.txt", mode=None)
        cmd = await self.run_command(RemoteCommand("downloadFile", args))
        self.assertEqual(_read(self.build_path("build", "small.txt")), "small text")

    async def check_file_system_commands(self) -> None:
        async def run(name: str, args: dict[str, Any]) -> RemoteCommand:
            return await self.run_command(RemoteCommand(name, args))

        cmd = await run("mkdir", {"dir": "build/made/deep"})
        self.assertEqual(cmd.rc, 0)
        self.assertTrue(os.path.isdir(self.build_path("build", "made", "deep")))
        with open(self.build_path("build", "made", "f.txt"), "w") as f:
            f.write("F")

        cmd = await run("cpdir", {"fromdir": "build/made", "todir": "build/copied"})
        self.assertEqual(cmd.rc, 0)
        self.assertEqual(_read(self.build_path("build", "copied", "f.txt")), "F")

        cmd = await run("stat", {"file": "build/made/f.txt"})
        self.assertEqual(cmd.rc, 0)
        self.assertEqual(cmd.updates["stat"][-1][6], 1)  # st_size
        cmd = await run("stat", {"file": "build/no-such"})
        self.assertNotEqual(cmd.rc, 0)
        self.assertTrue(cmd.didFail())

        cmd = await run("glob", {"path": "build/made/*.txt"})
        self.assertEqual(cmd.rc, 0)
        self.assertEqual(cmd.updates["files"][-1], [self.build_path("build", "made", "f.txt")])

        cmd = await run("listdir", {"dir": "build/made"})
        self.assertEqual(sorted(cmd.updates["files"][-1]), ["deep", "f.txt"])

        cmd = await run("rmfile", {"path": "build/made/f.txt"})
        self.assertEqual(cmd.rc, 0)
        self.assertFalse(os.path.exists(self.build_path("build", "made", "f.txt")))

        cmd = await run("rmdir", {"dir": ["build/made", "build/copied"], "timeout": 60})
        self.assertEqual(cmd.rc, 0)
        self.assertFalse(os.path.exists(self.build_path("build", "made")))
        self.assertFalse(os.path.exists(self.build_path("build", "copied")))

    async def test_sigkill_during_shell_command(self) -> None:
        marker = self.build_path("build", "started")
        os.makedirs(self.build_path("build"), exist_ok=True)
        script = f"import time; open({marker!r}, 'w').close(); time.sleep(60)"
        cmd = self.shell([PY, "-c", script])
        d = defer.ensureDeferred(self.run_command(cmd, limit=30))
        await self.wait_for("the shell command to start", lambda: os.path.exists(marker))
        self.transport.signalProcess(signal.SIGKILL)
        with self.assertRaises(Exception) as caught:
            await d
        self.assertTrue(isConnectionLost(_failure(caught.exception)), repr(caught.exception))
        await self.wait_for_detached()
        row = await self.master.data.get(("workers", self.worker.workerid))
        self.assertEqual(row["connected_to"], [])

    async def wait_for_detached(self) -> None:
        deadline = time.monotonic() + 30
        while self.worker.conn is not None:
            self.assertLess(time.monotonic(), deadline, "the master did not notice")
            await task.deferLater(reactor, 0.1, lambda: None)
        # the DB write that follows the detach
        await task.deferLater(reactor, 0.2, lambda: None)

    async def test_wrong_password_is_refused(self) -> None:
        registration = self.master.workers.pb.getRegistration(WORKER)
        dispatcher = self.master.pbmanager.getDispatcher(registration.portstr)
        old_password, factory = dispatcher.users[WORKER]
        # the worker running now logged in; a second one with a wrong password is refused
        from twisted.cred import credentials
        from twisted.spread import pb

        client = pb.PBClientFactory()
        connector = reactor.connectTCP("127.0.0.1", self.port, client)
        self.addCleanup(connector.disconnect)
        with self.assertRaises(Exception) as caught:
            await client.login(credentials.UsernamePassword(WORKER.encode(), b"wrong"), None)
        remote_type = getattr(caught.exception, "remoteType", b"")
        self.assertIn(b"UnauthorizedLogin", remote_type)
        self.assertEqual(dispatcher.users[WORKER][0], old_password)
        # PB logs the refusal it sends; the master has logged why
        self.flushLoggedErrors(UnauthorizedLogin)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


async def _websocket_status(port: int, authorization: str | None) -> int:
    """The HTTP status our master answers a WebSocket opening handshake with."""
    from twisted.internet import endpoints

    request = (
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    if authorization is not None:
        request += f"Authorization: {authorization}\r\n"

    class Client(protocol.Protocol):
        def __init__(self) -> None:
            self.data = b""
            self.done: defer.Deferred[bytes] = defer.Deferred()

        def connectionMade(self) -> None:
            self.transport.write((request + "\r\n").encode())

        def dataReceived(self, data: bytes) -> None:
            self.data += data

        def connectionLost(self, reason: Any) -> None:
            self.done.callback(self.data)

    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    client = await endpoints.connectProtocol(endpoint, Client())
    answer = await client.done.addTimeout(10, reactor)
    return int(answer.split(b" ", 2)[1])


def _failure(e: BaseException) -> Any:
    from twisted.python import failure

    return failure.Failure(e)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        return f"({e})"


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _tar_names(path: str) -> list[str]:
    with tarfile.open(path) as t:
        return t.getnames()


def _installed_worker(variable: str, what: str) -> str:
    """The buildbot-worker program of the virtualenv named by `variable`."""
    venv = os.environ.get(variable, "")
    program = os.path.join(venv, "bin", "buildbot-worker")
    problem = None
    if not venv:
        problem = f"{variable} is not set"
    elif not os.path.exists(program):
        problem = f"{variable}={venv} has no bin/buildbot-worker"
    if problem:
        message = f"{problem}: run `{SETUP_COMMAND}` ({what})"
        if _in_ci():
            raise RuntimeError(message)
        raise unittest.SkipTest(message)
    return program


class TestBuildbot43Worker(WorkerInteropMixin, unittest.TestCase):
    """The real buildbot-worker 4.3.0."""

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")


class TestBuildbot43WorkerMsgpack(WorkerInteropMixin, unittest.TestCase):
    """The real buildbot-worker 4.3.0 over msgpack_experimental_v7 (a WebSocket)."""

    protocol = "msgpack_experimental_v7"

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")

    async def test_wrong_password_is_refused(self) -> None:
        statuses = []
        for header in (None, "Basic " + _b64(f"{WORKER}:wrong"), "Basic !!!"):
            statuses.append(await _websocket_status(self.port, header))
        self.assertEqual(statuses, [401, 401, 400])
        self.assertIsNotNone(self.worker.conn)


class TestBuildbotWorker311(WorkerInteropMixin, unittest.TestCase):
    """The real buildbot-worker 3.11.9, the last of 3.x."""

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT_WORKER311_VENV", "the real buildbot-worker 3.11.9")


class TestOurWorker(WorkerInteropMixin, unittest.TestCase):
    """Our own buildbot-worker, installed beside this master."""

    def worker_bin(self) -> str:
        return os.path.join(os.path.dirname(sys.executable), "buildbot-worker")
