"""The worker's PB side against an in-process PB server (Twisted's own cred + PB)."""

import os
import socket
import sys

from twisted.cred import checkers, portal
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, endpoints, reactor, task
from twisted.spread import pb
from twisted.trial import unittest
from zope.interface import implementer

from buildbot_worker.bot import Bot
from buildbot_worker.pbconnect import PBConnector, backoff_delay


class Perspective(pb.Avatar):
    def __init__(self, mind):
        self.mind = mind
        self.keepalives = 0
        self.shutdowns = 0

    def perspective_keepalive(self):
        self.keepalives += 1

    def perspective_shutdown(self):
        self.shutdowns += 1


@implementer(portal.IRealm)
class Realm:
    def __init__(self):
        self.avatars = []
        self.attached = defer.Deferred()

    def requestAvatar(self, avatarId, mind, *interfaces):
        avatar = Perspective(mind)
        self.avatars.append(avatar)
        return pb.IPerspective, avatar, lambda: None


class RemoteCommand(pb.Referenceable):
    def __init__(self):
        self.updates = []
        self.messages = 0
        self.done = defer.Deferred()

    def remote_update(self, updates):
        self.messages += 1
        self.updates.extend(updates)
        return 0

    def remote_complete(self, failure=None):
        self.done.callback(failure)

    def text(self, key):
        return "".join(u[key] for u, _ in self.updates if key in u)


async def wait_for(condition, limit=10.0):
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await task.deferLater(reactor, 0.02, lambda: None)
    raise AssertionError("condition not reached in time")


class TestBotOverPB(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.realm = Realm()
        checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(w1=b"pw")
        factory = pb.PBServerFactory(portal.Portal(self.realm, [checker]))
        self.server_factory = factory
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.basedir, "info"))
        with open(os.path.join(self.basedir, "info", "admin"), "w") as f:
            f.write("me\n")
        self.clock = task.Clock()
        self.stopped = 0

    def connect(self, password=b"pw", max_retries=None, keepalive=600):
        self.bot = Bot(self.basedir, reactor, self._stop)
        endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        self.connector = PBConnector(
            self.clock,
            endpoint,
            b"w1",
            password,
            self.bot,
            keepalive,
            self._stop,
            max_retries=max_retries,
            on_disconnect=self.bot.lost_connection,
            jitter=lambda: 0.0,
        )
        self.connector.startService()
        self.addCleanup(self.connector.stopService)

    def _stop(self):
        self.stopped += 1

    async def logged_in(self):
        await wait_for(lambda: self.connector.perspective is not None)
        return self.realm.avatars[-1]

    async def test_login_attach_and_keepalive(self):
        self.connect()
        avatar = await self.logged_in()
        mind = avatar.mind
        self.assertIsNone(await mind.callRemote("print", message="attached"))
        info = await mind.callRemote("getWorkerInfo")
        self.assertEqual(info["admin"], "me\n")
        self.assertEqual(info["basedir"], self.basedir)
        self.assertEqual(info["worker_commands"]["shell"], "3.3")
        self.assertEqual(len(info["worker_commands"]), 12)  # 4.3's 11 and move
        builders = await mind.callRemote("setBuilderList", [("b1", "b1dir")])
        self.assertEqual(list(builders), ["b1"])
        self.assertTrue(os.path.isdir(os.path.join(self.basedir, "b1dir")))
        self.assertEqual(avatar.keepalives, 0)
        self.clock.advance(600)
        await wait_for(lambda: avatar.keepalives == 1)
        sock = self.connector.broker.transport.getHandle()
        self.assertTrue(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        self.assertTrue(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    async def test_command_round_trip_and_unknown_command(self):
        self.connect()
        avatar = await self.logged_in()
        builders = await avatar.mind.callRemote("setBuilderList", [["b1", "b1dir"]])
        wfb = builders["b1"]
        with self.assertRaises(pb.RemoteError) as cm:
            await wfb.callRemote("startCommand", RemoteCommand(), "7", "nope", {})
        self.assertIn("(command 7): unrecognized WorkerCommand 'nope'", str(cm.exception))
        cmd = RemoteCommand()
        await wfb.callRemote("startCommand", cmd, "8", "mkdir", {"dir": "x/y"})
        self.assertIsNone(await cmd.done)
        keys = [next(iter(u)) for u, n in cmd.updates]
        self.assertEqual(keys, ["rc", "elapsed"])
        self.assertTrue(all(n == 0 and len(u) == 1 for u, n in cmd.updates))
        self.assertTrue(os.path.isdir(os.path.join(self.basedir, "b1dir", "x", "y")))

    async def test_200000_lines_cost_a_few_hundred_messages(self):
        self.connect()
        avatar = await self.logged_in()
        builders = await avatar.mind.callRemote("setBuilderList", [("b1", "b1dir")])
        cmd = RemoteCommand()
        script = "import sys\nfor i in range(200000): sys.stdout.write('line %d\\n' % i)\n"
        args = {"command": [sys.executable, "-c", script], "workdir": "build", "timeout": 60}
        await builders["b1"].callRemote("startCommand", cmd, "9", "shell", args)
        self.assertIsNone(await cmd.done)
        self.assertEqual(cmd.text("stdout").count("\n"), 200000)
        # 2.9 MB of output in 64 KiB batches: ~50 messages (one per pipe read would be ~350)
        self.assertLess(cmd.messages, 100, cmd.messages)

    async def test_interrupt_sends_rc_but_no_elapsed(self):
        self.connect()
        avatar = await self.logged_in()
        builders = await avatar.mind.callRemote("setBuilderList", [("b1", "b1dir")])
        cmd = RemoteCommand()
        args = {"command": ["sleep", "60"], "workdir": "build", "logEnviron": False}
        await builders["b1"].callRemote("startCommand", cmd, "10", "shell", args)
        await builders["b1"].callRemote("interruptCommand", "10", "because")
        self.assertIsNone(await cmd.done)
        self.assertIn("command interrupted, attempting to kill", cmd.text("header"))
        rcs = [u["rc"] for u, _ in cmd.updates if "rc" in u]
        self.assertEqual(rcs, [-1])
        self.assertFalse(any("elapsed" in u for u, _ in cmd.updates))

    async def test_wrong_password_retries_with_backoff(self):
        self.connect(password=b"wrong")
        await wait_for(lambda: self.connector.failures == 1)
        self.assertEqual(self.stopped, 0)
        retry = self.connector._retry
        self.assertAlmostEqual(retry.getTime() - self.clock.seconds(), backoff_delay(0, lambda: 0))
        self.clock.advance(1.0)
        await wait_for(lambda: self.connector.failures == 2)
        self.assertAlmostEqual(self.connector._retry.getTime() - self.clock.seconds(), 1.5)
        self.assertEqual(self.realm.avatars, [])
        self.flushLoggedErrors(UnauthorizedLogin)

    async def test_max_retries_stops_the_worker(self):
        self.connect(password=b"wrong", max_retries=1)
        await wait_for(lambda: self.stopped == 1)
        self.flushLoggedErrors(UnauthorizedLogin)

    async def test_reconnects_after_the_master_goes_away(self):
        self.connect()
        avatar = await self.logged_in()
        avatar.mind.broker.transport.loseConnection()
        await wait_for(lambda: self.connector.perspective is None)
        self.assertEqual(self.connector.failures, 0)
        self.clock.advance(1.0)
        await wait_for(lambda: self.connector.perspective is not None)
        self.assertEqual(len(self.realm.avatars), 2)


class TestBackoff(unittest.TestCase):
    def test_growth_and_cap(self):
        delays = [backoff_delay(n, lambda: 0.0) for n in range(20)]
        self.assertEqual(delays[:3], [1.0, 1.5, 2.25])
        self.assertEqual(delays[-1], 60.0)
        self.assertEqual(backoff_delay(0, lambda: 0.5), 1.5)
