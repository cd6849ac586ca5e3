from twisted.cred import credentials
from twisted.internet import defer, reactor
from twisted.spread import pb
from twisted.trial import unittest

from buildbot.pbmanager import PBManager
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
