import os

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot_worker.bot import Bot, Worker
from buildbot_worker.tunnel import HTTPTunnelEndpoint


class FakePerspective:
    def __init__(self):
        self.calls = []

    def callRemote(self, name, *args):
        self.calls.append(name)
        return defer.succeed(None)


class StoppableClock(task.Clock):
    running = True

    def __init__(self):
        super().__init__()
        self.stops = 0

    def stop(self):
        self.stops += 1


class TestWorkerService(unittest.TestCase):
    def make_worker(self, **kwargs):
        self.clock = StoppableClock()
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        worker = Worker(
            "127.0.0.1", 9989, "w1", "pw", self.basedir, 600, reactor=self.clock, **kwargs
        )
        worker.connector.disownServiceParent()  # no network here
        return worker

    def test_shutdown_stamp_asks_the_master(self):
        worker = self.make_worker(allow_shutdown="file")
        worker.startService()
        self.addCleanup(worker.stopService)
        self.assertTrue(os.path.exists(os.path.join(self.basedir, "twistd.hostname")))
        persp = worker.connector.perspective = FakePerspective()
        self.clock.advance(10)
        self.assertEqual(persp.calls, [])
        stamp = os.path.join(self.basedir, "shutdown.stamp")
        with open(stamp, "w"):
            pass
        os.utime(stamp, (5, 5))
        self.clock.advance(10)
        self.assertEqual(persp.calls, ["shutdown"])
        self.clock.advance(10)
        self.assertEqual(persp.calls, ["shutdown"])

    def test_graceful_shutdown_when_disconnected_stops_at_once(self):
        worker = self.make_worker()
        worker.gracefulShutdown()
        self.assertEqual(self.clock.stops, 1)

    def test_proxy_connection_string_tunnels(self):
        worker = self.make_worker(proxy_connection_string="tcp:host=proxy:port=3128")
        self.assertIsInstance(worker.endpoint, HTTPTunnelEndpoint)
        self.assertEqual((worker.endpoint.host, worker.endpoint.port), ("127.0.0.1", 9989))

    def test_unsupported_options(self):
        with self.assertRaises(ValueError):
            Worker("h", 1, "w", "p", ".", 0, protocol="msgpack_experimental_v1")
        with self.assertRaises(ValueError):
            Worker("h", 1, "w", "p", ".", 0, allow_shutdown="never")


class TestBotObject(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.stops = []
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.basedir, "old"))
        os.makedirs(os.path.join(self.basedir, "info"))

    def test_builder_list_keeps_objects_and_leftovers(self):
        bot = Bot(self.basedir, self.clock, lambda: self.stops.append(1))
        first = bot.remote_setBuilderList([("a", "adir"), ("b", "bdir")])
        second = bot.remote_setBuilderList([("a", "adir2")])
        self.assertIs(first["a"], second["a"])
        self.assertEqual(second["a"].builddir, os.path.join(self.basedir, "adir2"))
        self.assertEqual(list(second), ["a"])
        self.assertTrue(os.path.isdir(os.path.join(self.basedir, "old")))

    def test_delete_leftover_dirs(self):
        bot = Bot(self.basedir, self.clock, lambda: None, delete_leftover_dirs=1)
        bot.remote_setBuilderList([("a", "adir")])
        self.assertEqual(sorted(os.listdir(self.basedir)), ["adir", "info"])
        self.assertEqual(bot.remote_getWorkerInfo()["delete_leftover_dirs"], 1)

    def test_shutdown_stops_soon(self):
        bot = Bot(self.basedir, self.clock, lambda: self.stops.append(1))
        self.assertIsNone(bot.remote_shutdown())
        self.assertEqual(self.stops, [])
        self.clock.advance(0.2)
        self.assertEqual(self.stops, [1])
