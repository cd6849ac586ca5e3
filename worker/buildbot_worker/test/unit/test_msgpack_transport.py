"""The msgpack transport over a real loopback WebSocket, against a small test master."""

import base64
import os

from twisted.internet import defer, endpoints, error, reactor
from twisted.trial import unittest

try:
    import msgpack
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.websocket.types import ConnectionDeny

    from buildbot_worker.protocols.msgpack import (
        MsgpackConnector,
        basic_auth_header,
        master_url,
    )
except ImportError:  # pragma: no cover
    msgpack = None
    WebSocketServerProtocol = object

from buildbot_worker.protocols.msgpack_bot import MsgpackBot


class FakeMasterProtocol(WebSocketServerProtocol):
    def onConnect(self, request):
        self.factory.auth.append(request.headers.get("authorization"))
        if self.factory.refuse:
            raise ConnectionDeny(401, "Unauthorized")

    def onOpen(self):
        self.factory.opened.callback(self)

    def send(self, msg):
        self.sendMessage(msgpack.packb(msg, use_bin_type=True), isBinary=True)

    def onMessage(self, payload, isBinary):
        msg = msgpack.unpackb(payload, raw=False)
        self.factory.received.append(msg)
        waiters, self.factory.waiters = self.factory.waiters, []
        for count, d in waiters:
            if len(self.factory.received) >= count:
                d.callback(None)
            else:
                self.factory.waiters.append((count, d))


class TestTransport(unittest.TestCase):
    def setUp(self):
        if msgpack is None:
            raise unittest.SkipTest(
                "autobahn/msgpack missing: pip install 'buildbot-worker[msgpack]'"
            )
        factory = self.factory = WebSocketServerFactory()
        factory.protocol = FakeMasterProtocol
        factory.auth, factory.received, factory.waiters = [], [], []
        factory.refuse = False
        factory.opened = defer.Deferred()
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        portnum = self.port.getHost().port
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.stops = []
        self.bot = MsgpackBot(self.basedir, reactor, lambda: self.stops.append(1))
        self.connector = MsgpackConnector(
            reactor,
            endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", portnum),
            f"ws://127.0.0.1:{portnum}",
            "w1",
            "pw",
            self.bot,
            lambda: self.stops.append(1),
            jitter=lambda: 0.0,
        )

    async def connect(self):
        self.connector.startService()
        self.addCleanup(self.connector.stopService)
        return await self.factory.opened

    def received(self, count):
        d = defer.Deferred()
        if len(self.factory.received) >= count:
            d.callback(None)
        else:
            self.factory.waiters.append((count, d))
        return d

    async def test_requests_and_responses(self):
        master = await self.connect()
        token = base64.b64encode(b"w1:pw").decode()
        self.assertEqual(self.factory.auth, [f"Basic {token}"])
        master.sendMessage(b"ignored text frame", isBinary=False)
        master.send({"op": "print"})  # no seq_number: dropped
        master.send({"op": "print", "message": "attached", "seq_number": 0})
        master.send({"op": "frobnicate", "seq_number": 1})
        master.send({"op": "get_worker_info", "seq_number": 2})
        await self.received(3)
        r0, r1, r2 = self.factory.received
        self.assertEqual(r0, {"op": "response", "seq_number": 0, "result": None})
        self.assertEqual(
            r1,
            {
                "op": "response",
                "seq_number": 1,
                "result": "Command frobnicate does not exist.",
                "is_exception": True,
            },
        )
        self.assertEqual(r2["result"]["basedir"], self.basedir)

        path = os.path.join(self.basedir, "b")
        master.send({
            "op": "start_command", "seq_number": 3, "command_id": "5",
            "command_name": "mkdir", "args": {"paths": [path]},
        })  # fmt: skip
        await self.received(6)
        by_op = {m["op"]: m for m in self.factory.received[3:]}
        self.assertEqual(by_op["update"]["seq_number"], 0)
        self.assertEqual(by_op["update"]["args"][0], ["rc", 0])
        self.assertEqual(by_op["complete"], {"op": "complete", "seq_number": 1,
                                             "command_id": "5", "args": None})  # fmt: skip
        self.assertEqual(by_op["response"]["seq_number"], 3)
        self.assertTrue(os.path.isdir(path))

        # our requests resolve with the master's result, or fail with its exception
        conn = self.connector.connection
        d_ok = conn.request("update_read_file", command_id="5", length=3)
        d_bad = conn.request("update_read_file_close", command_id="5")
        master.send({"op": "response", "seq_number": 2, "result": b"abc"})
        master.send({"op": "response", "seq_number": 3, "result": "nope", "is_exception": True})
        self.assertEqual(await d_ok, b"abc")
        with self.assertRaisesRegex(Exception, "nope"):
            await d_bad

        # a lost connection fails what is still waiting, and a new connection follows
        pending = conn.request("update_read_file", command_id="5", length=3)
        self.factory.opened = defer.Deferred()
        master.transport.loseConnection()
        with self.assertRaises(error.ConnectionLost):
            await pending
        await self.factory.opened
        self.assertEqual(self.connector.failures, 0)

    async def test_refused_login_is_retried(self):
        self.factory.refuse = True
        self.connector.startService()
        self.addCleanup(self.connector.stopService)
        while self.connector._retry is None:
            d = defer.Deferred()
            reactor.callLater(0.01, d.callback, None)
            await d
        self.assertEqual(self.connector.failures, 1)
        self.assertIsNone(self.connector.connection)
        self.assertEqual(self.stops, [])


class TestHelpers(unittest.TestCase):
    def setUp(self):
        if msgpack is None:
            raise unittest.SkipTest("autobahn/msgpack missing")

    def test_url(self):
        self.assertEqual(master_url("h", 9989, None, None, False), "ws://h:9989")
        self.assertEqual(master_url("h", 1, None, "x/y", True), "wss://h:1/x/y")
        self.assertEqual(
            master_url(None, None, "tcp:host=m.example:port=9000", "/p", False),
            "ws://m.example:9000/p",
        )

    def test_auth_header(self):
        self.assertEqual(basic_auth_header("a", "b"), "Basic YTpi")
        with self.assertRaises(ValueError):
            basic_auth_header("a:b", "c")
