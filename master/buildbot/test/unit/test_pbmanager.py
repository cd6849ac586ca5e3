import socket

from twisted.cred import credentials
from twisted.internet import defer, reactor
from twisted.spread import pb
from twisted.trial import unittest

from buildbot.pbmanager import LowLatencyBroker, PBManager
from buildbot.process.properties import Secret, renderer
from buildbot.util import service

PORT = "tcp:0:interface=127.0.0.1"


class Avatar(pb.Avatar):
    def perspective_hello(self):
        return "hi"

    def detached(self, mind):
        pass


class Secrets:
    def __init__(self, values):
        self.values = values

    def get(self, name):
        return defer.succeed(self.values.get(name))


class RenderedPasswords(unittest.TestCase):
    async def setUp(self):
        self.master = service.MasterService(reactor=reactor)
        self.master.secrets_manager = Secrets({"workerpass": "from-the-vault"})
        self.pbmanager = PBManager()
        await self.pbmanager.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def login(self, username, password):
        dispatcher = self.pbmanager.getDispatcher(PORT)
        for _ in range(100):  # the listener starts in the background
            if dispatcher.getPort():
                break
            await defer.succeed(None)
        factory = pb.PBClientFactory()
        reactor.connectTCP("127.0.0.1", dispatcher.getPort(), factory)
        try:
            remote = await factory.login(
                credentials.UsernamePassword(username.encode(), password.encode())
            )
            return await remote.callRemote("hello")
        finally:
            factory.disconnect()

    async def test_secret_password(self):
        self.pbmanager.register(PORT, "w1", Secret("workerpass"), lambda mind, name: Avatar())
        self.assertEqual(await self.login("w1", "from-the-vault"), "hi")
        with self.assertRaises(pb.RemoteError):
            await self.login("w1", "workerpass")
        self.flushLoggedErrors()

    async def test_renderer_password(self):
        @renderer
        def password(props):
            return "computed"

        self.pbmanager.register(PORT, "w2", password, lambda mind, name: Avatar())
        self.assertEqual(await self.login("w2", "computed"), "hi")


class LowLatency(unittest.TestCase):
    """Connections accepted for workers send small messages at once and ACK at once."""

    async def setUp(self):
        self.master = service.MasterService(reactor=reactor)
        self.pbmanager = PBManager()
        await self.pbmanager.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.avatars = []

        def make(mind, name):
            self.avatars.append(Avatar())
            return self.avatars[-1]

        self.pbmanager.register(PORT, "w1", "pw", make)

    async def test_accepted_connection_options(self):
        dispatcher = self.pbmanager.getDispatcher(PORT)
        for _ in range(100):
            if dispatcher.getPort():
                break
            await defer.succeed(None)
        accepted = []
        build = dispatcher.factory.buildProtocol

        def record(addr):
            proto = build(addr)
            accepted.append(proto)
            return proto

        dispatcher.factory.buildProtocol = record
        factory = pb.PBClientFactory()
        reactor.connectTCP("127.0.0.1", dispatcher.getPort(), factory)
        self.addCleanup(factory.disconnect)
        remote = await factory.login(credentials.UsernamePassword(b"w1", b"pw"))
        self.assertEqual(await remote.callRemote("hello"), "hi")
        (broker,) = accepted
        self.assertIsInstance(broker, LowLatencyBroker)
        sock = broker.transport.getHandle()
        self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)
        if hasattr(socket, "TCP_QUICKACK"):
            # set after the last read; the kernel may already have dropped back out of it
            self.assertIsNotNone(LowLatencyBroker._quickack)
            self.assertIsNot(broker._quickack, None)

    def test_non_tcp_transport(self):
        broker = LowLatencyBroker(isClient=False)

        class Transport:
            def getHandle(self):
                return object()  # no setsockopt

            def write(self, data):
                pass

            def writeSequence(self, data):
                pass

            def getPeer(self):
                return None

            def getHost(self):
                return None

        broker.makeConnection(Transport())
        broker.dataReceived(b"")
        self.assertIsNone(broker._quickack)


class GoneWhileAttaching(unittest.TestCase):
    async def test_a_client_gone_during_attach_gets_no_perspective(self):
        from types import SimpleNamespace

        from twisted.cred import error

        from buildbot.pbmanager import Dispatcher

        detached = []

        class Detaching(Avatar):
            def detached(self, mind):
                detached.append(mind)

        dispatcher = Dispatcher(PORT)
        dispatcher.users["w1"] = ("pw", lambda mind, name: Detaching())
        mind = SimpleNamespace(broker=SimpleNamespace(disconnected=True))
        with self.assertRaises(error.UnauthorizedLogin):
            await dispatcher._avatar("w1", mind)
        self.assertEqual(detached, [mind])
        mind.broker.disconnected = False
        _, avatar, _ = await dispatcher._avatar("w1", mind)
        self.assertIsInstance(avatar, Detaching)
