"""The master's PB side against an in-process PB client over loopback TCP: login,
attach, duplicates, remote commands and the loss of the connection."""

from __future__ import annotations

from typing import Any

from twisted.cred import credentials
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, reactor, task
from twisted.spread import pb
from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.pbmanager import port_to_endpoint
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import (
    RemoteCommand,
    RemoteConnectionLost,
    RemoteShellCommand,
    isConnectionLost,
)
from buildbot.process.results import CANCELLED, FAILURE, SUCCESS
from buildbot.test.fake.remotelog import InMemoryLog
from buildbot.test.util import db
from buildbot.test.util.workermaster import start_worker_master
from buildbot.worker import Worker, manager

INFO = {"admin": "me", "host": "box", "version": "9.9", "environ": {"A": "1"},
        "system": "posix", "basedir": "/w", "worker_commands": {"shell": "3.3"}}  # fmt: skip


class FakeWorkerForBuilder(pb.Referenceable):
    def __init__(self, bot: FakeBot) -> None:
        self.bot = bot

    def remote_startBuild(self) -> None:
        self.bot.calls.append(("startBuild",))

    def remote_startCommand(self, cmd: Any, commandId: str, name: str, args: dict) -> None:
        self.bot.calls.append(("startCommand", commandId, name, args))
        self.bot.command = cmd

    def remote_interruptCommand(self, commandId: str, why: str) -> None:
        self.bot.calls.append(("interruptCommand", commandId, why))


class FakeBot(pb.Referenceable):
    """The worker's side, as far as these tests need it."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.command: Any = None
        self.hang_on: str | None = None

    def remote_print(self, message: str) -> Any:
        self.calls.append(("print", message))
        if message == self.hang_on:
            return defer.Deferred()  # never answers: a dead peer
        return None

    def remote_getWorkerInfo(self) -> dict:
        self.calls.append(("getWorkerInfo",))
        return dict(INFO)

    def remote_setBuilderList(self, builders: list) -> dict:
        self.calls.append(("setBuilderList", builders))
        return {name: FakeWorkerForBuilder(self) for name, _ in builders}

    def remote_shutdown(self) -> None:
        self.calls.append(("shutdown",))


class PBMasterTest(db.SQLiteDBMixin, unittest.TestCase):
    timeout = 30

    async def setUp(self) -> None:
        await super().setUp()
        builder = BuilderConfig(
            name="b1", workernames=["w1"], builddir="bd", factory=BuildFactory()
        )
        await start_worker_master(
            self,
            protocols={"pb": {"port": "tcp:0:interface=127.0.0.1"}},
            workers=[Worker("w1", "pw")],
            builders=[builder],
        )
        self.worker = self.master.workers.getWorkerByName("w1")
        self.port = self.master.workers.pb.getRegistration("w1").getPort()

    async def login(self, name: bytes = b"w1", password: bytes = b"pw") -> tuple[FakeBot, Any]:
        bot = FakeBot()
        factory = pb.PBClientFactory()
        connector = reactor.connectTCP("127.0.0.1", self.port, factory)
        self.addCleanup(connector.disconnect)
        persp = await factory.login(credentials.UsernamePassword(name, password), client=bot)
        bot.connector = connector  # type: ignore[attr-defined]
        # dropping the perspective reference would log out (PB calls the logout then)
        bot.persp = persp  # type: ignore[attr-defined]
        return bot, persp

    async def until(self, check) -> None:
        for _ in range(100):
            if check():
                return
            await task.deferLater(reactor, 0.05, lambda: None)
        self.fail("condition never met")

    async def row(self) -> dict:
        return await self.master.data.get(("workers", self.worker.workerid))

    # --- pbmanager ---------------------------------------------------------------

    def test_port_strings(self) -> None:
        self.assertEqual(port_to_endpoint(9989), "tcp:9989")
        self.assertEqual(port_to_endpoint("9989"), "tcp:9989")
        self.assertEqual(port_to_endpoint("tcp:1:interface=x"), "tcp:1:interface=x")

    async def test_bad_password_and_unknown_user_refused(self) -> None:
        for name, password in ((b"w1", b"nope"), (b"ghost", b"pw")):
            with self.assertRaises(pb.RemoteError) as caught:
                await self.login(name, password)
            self.assertIn(b"UnauthorizedLogin", caught.exception.remoteType)
        self.flushLoggedErrors(UnauthorizedLogin)
        self.assertIsNone(self.worker.conn)

    # --- attach ------------------------------------------------------------------

    async def test_attach_sequence_and_db(self) -> None:
        bot, persp = await self.login()
        self.assertEqual(
            bot.calls,
            [("print", "attached"), ("getWorkerInfo",), ("setBuilderList", [("b1", "bd")]),
             ("print", "attached")],
        )  # fmt: skip
        self.assertEqual(self.worker.info["host"], "box")
        self.assertNotIn("environ", self.worker.info)
        row = await self.row()
        self.assertEqual(row["connected_to"], [{"masterid": self.master.masterid}])
        self.assertEqual(
            row["workerinfo"], {"admin": "me", "host": "box", "access_uri": None, "version": "9.9"}
        )
        await persp.callRemote("keepalive")
        self.assertIsNotNone(self.worker.last_received)
        # disconnect: the row says so
        bot.connector.disconnect()
        await self.until(lambda: self.worker.conn is None)
        await self.until(lambda: self.worker._detaching is None)
        self.assertEqual((await self.row())["connected_to"], [])

    async def test_duplicate_with_live_old_connection_is_rejected(self) -> None:
        first, _ = await self.login()
        old_conn = self.worker.conn
        with self.assertRaises(pb.RemoteError) as caught:
            await self.login()
        self.assertIn(b"DuplicateWorkerRejected", caught.exception.remoteType)
        self.flushLoggedErrors(manager.DuplicateWorkerRejected)
        self.assertIs(self.worker.conn, old_conn)
        self.assertIn(("print", "master got a duplicate connection"), first.calls)

    async def test_duplicate_with_dead_old_connection_replaces_it(self) -> None:
        self.patch(manager, "DUPLICATE_PROBE_TIMEOUT", 0.3)
        first, _ = await self.login()
        first.hang_on = "master got a duplicate connection"
        old_conn = self.worker.conn
        second, _ = await self.login()
        self.assertIsNot(self.worker.conn, old_conn)
        self.assertTrue(old_conn.disconnected)
        self.assertIn(("getWorkerInfo",), second.calls)
        self.assertEqual((await self.row())["connected_to"], [{"masterid": self.master.masterid}])

    async def test_reconfig_resends_changed_builder_list_only(self) -> None:
        bot, _ = await self.login()
        cfg = self.master.config
        await self.master.workers.reconfigServiceWithBuildbotConfig(cfg)
        self.assertEqual(sum(1 for c in bot.calls if c[0] == "setBuilderList"), 1)
        cfg.builders = cfg.builders + [
            BuilderConfig(name="b2", workernames=["w1"], factory=BuildFactory())
        ]
        await self.master.workers.reconfigServiceWithBuildbotConfig(cfg)
        lists = [c[1] for c in bot.calls if c[0] == "setBuilderList"]
        self.assertEqual(lists[-1], [("b1", "bd"), ("b2", "b2")])

    async def test_control_pause_and_kill(self) -> None:
        bot, _ = await self.login()
        wid = str(self.worker.workerid)
        await self.master.mq.callConsumer(("control", "worker", wid, "pause"), {"reason": "r"})
        row = await self.row()
        self.assertEqual((row["paused"], row["pause_reason"]), (True, "r"))
        self.assertFalse(self.worker.canStartBuild())
        await self.master.mq.callConsumer(("control", "worker", wid, "unpause"), {})
        self.assertFalse((await self.row())["paused"])
        await self.master.mq.callConsumer(("control", "worker", wid, "kill"), {})
        await self.until(lambda: ("shutdown",) in bot.calls)

    async def test_control_stop_is_graceful(self) -> None:
        bot, _ = await self.login()
        self.assertTrue(self.worker.canStartBuild())
        wid = str(self.worker.workerid)
        await self.master.mq.callConsumer(("control", "worker", wid, "stop"), {})
        self.assertTrue(self.worker.graceful)
        self.assertFalse(self.worker.canStartBuild())
        self.assertTrue((await self.row())["graceful"])
        # idle, so it is asked to stop at once
        await self.until(lambda: ("shutdown",) in bot.calls)

    async def test_control_stop_waits_for_running_builds(self) -> None:
        bot, _ = await self.login()
        self.worker.building.add(object())
        wid = str(self.worker.workerid)
        await self.master.mq.callConsumer(("control", "worker", wid, "stop"), {})
        self.assertTrue(self.worker.graceful)
        self.assertFalse(self.worker.canStartBuild())
        await bot.persp.callRemote("keepalive")  # a round trip: nothing else is pending
        self.assertNotIn(("shutdown",), bot.calls)

    async def test_perspective_shutdown_from_worker(self) -> None:
        bot, persp = await self.login()
        await persp.callRemote("shutdown")
        await self.until(lambda: ("shutdown",) in bot.calls)
        self.assertTrue(self.worker.graceful)
        self.assertFalse(self.worker.canStartBuild())
        self.assertTrue((await self.row())["graceful"])

    # --- remote commands ------------------------------------------------------------

    async def start_shell(self, **kwargs: Any) -> tuple[FakeBot, RemoteShellCommand, Any, Any]:
        bot, _ = await self.login()
        cmd = RemoteShellCommand("build", ["echo", "hi"], collectStdout=True, **kwargs)
        stdio = InMemoryLog("stdio")
        cmd.useLog(stdio, closeWhenFinished=True)
        d = cmd.run(None, self.worker.conn, "b1")
        await self.until(lambda: bot.command is not None)
        return bot, cmd, stdio, d

    async def test_shell_command_streams_and_completes(self) -> None:
        bot, cmd, stdio, d = await self.start_shell()
        start = next(c for c in bot.calls if c[0] == "startCommand")
        self.assertEqual(start[1], cmd.commandID)
        self.assertEqual(start[2], "shell")
        self.assertEqual(start[3]["command"], ["echo", "hi"])
        self.assertIs(start[3]["usePTY"], False)
        self.assertEqual(start[3]["timeout"], 1200)
        ref = bot.command
        # older workers batch several keys and send partial lines
        answer = await ref.callRemote("update", [[{"stdout": "h"}, 0], [{"stdout": "i\n"}, 0]])
        self.assertEqual(answer, 0)
        await ref.callRemote("update", [[{"header": "hdr\n", "stat": (1, 2)}, 0]])
        await ref.callRemote("update", [[{"rc": 0}, 0]])
        await ref.callRemote("update", [[{"elapsed": 0.5}, 0]])
        await ref.callRemote("complete", None)
        self.assertIs(await d, cmd)
        self.assertEqual(cmd.stdout, "hi\n")
        self.assertEqual(stdio.stdout, "hi\n")
        self.assertIn("program finished with exit code 0", stdio.header)
        self.assertEqual(cmd.updates["stat"], [(1, 2)])
        self.assertEqual((cmd.rc, cmd.elapsed, cmd.results()), (0, 0.5, SUCCESS))
        self.assertTrue(stdio.finished)

    async def test_nonzero_rc_and_remote_failure(self) -> None:
        bot, cmd, _, d = await self.start_shell()
        await bot.command.callRemote("update", [[{"rc": 2}, 0]])
        await bot.command.callRemote("complete", None)
        await d
        self.assertTrue(cmd.didFail())
        self.assertEqual(cmd.results(), FAILURE)
        # a failure passed to complete fails the command
        bot.command = None
        cmd2 = RemoteCommand("stat", {"file": "x"})
        d2 = cmd2.run(None, self.worker.conn, "b1")
        await self.until(lambda: bot.command is not None)
        try:
            raise ValueError("boom")
        except ValueError:
            from twisted.python import failure

            f = pb.failure2Copyable(failure.Failure(), True)
        await bot.command.callRemote("complete", f)
        with self.assertRaises(pb.RemoteError) as caught:
            await d2
        self.assertIn(b"ValueError", caught.exception.remoteType)

    async def test_interrupt(self) -> None:
        bot, cmd, _, d = await self.start_shell()
        await cmd.interrupt("because")
        self.assertIn(("interruptCommand", cmd.commandID, "because"), bot.calls)
        await bot.command.callRemote("update", [[{"rc": -1}, 0]])
        await bot.command.callRemote("complete", None)
        await d
        self.assertEqual(cmd.results(), CANCELLED)

    async def test_connection_lost_fails_command(self) -> None:
        bot, cmd, stdio, d = await self.start_shell()
        bot.connector.disconnect()
        with self.assertRaises(RemoteConnectionLost) as caught:
            await d
        from twisted.python import failure

        self.assertTrue(isConnectionLost(failure.Failure(caught.exception)))
        self.assertTrue(stdio.finished)
        await self.until(lambda: self.worker._detaching is None and self.worker.conn is None)
        self.assertEqual((await self.row())["connected_to"], [])

    async def test_command_without_connection_fails_at_once(self) -> None:
        with self.assertRaises(RemoteConnectionLost):
            await RemoteCommand("stat", {"file": "x"}).run(None, None, "b1")
