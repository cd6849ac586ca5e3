import os

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import debounce, eventual, service


class Child(service.BuildbotService):
    def checkConfig(self, interval=1):
        pass

    def reconfigService(self, interval=1):
        self.interval = interval
        self.runs = 0

    @debounce.method(wait=2)
    def tick(self):
        self.runs += 1


class TestMakeMaster(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()

    @defer.inlineCallbacks
    def test_services_run_on_the_test_clock(self):
        master = fakemaster.make_master(self)
        self.assertIs(master.master, master)
        self.assertIs(master.reactor, self.reactor)
        self.assertTrue(os.path.isabs(master.basedir))
        self.assertEqual(master.name, f"fake:{master.basedir}")

        child = Child(interval=5)
        yield child.setServiceParent(master)
        yield master.startService()
        self.addCleanup(master.stopService)
        self.assertEqual(child.interval, 5)
        self.assertIs(child.master, master)
        self.assertIs(child.reactor, self.reactor)

        child.tick()
        child.tick()
        self.reactor.advance(1.9)
        self.assertEqual(child.runs, 0)
        self.reactor.advance(0.1)
        self.assertEqual(child.runs, 1)

    def test_eventual_queue_follows_the_test_reactor(self):
        calls = []
        eventual.eventually(calls.append, 1)
        self.assertEqual(calls, [])
        self.reactor.advance(0)
        self.assertEqual(calls, [1])

    async def test_fake_db_and_mq(self):
        master = fakemaster.make_master(self, wantDb=True, wantMq=True)
        await master.startService()
        self.addCleanup(master.stopService)
        self.assertIs(master.db.master, master)
        self.assertIs(master.mq.master, master)
        await master.db.insert_test_data([fakedb.Master(id=7, name="m")])
        self.assertEqual((await master.db.masters.getMaster(7)).name, "m")
        master.mq.produce(("masters", "7", "started"), {"masterid": 7})
        master.mq.assertProductions([(("masters", "7", "started"), {"masterid": 7})])

    async def test_fake_data(self):
        master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        await master.db.insert_test_data([fakedb.Master(id=7, name="m")])
        self.assertEqual((await master.data.get(("masters", 7)))["name"], "m")
        await master.data.updates.masterStopped(name="m", masterid=7)
        master.data.updates.assertCalled("masterStopped", name="m", masterid=7)

    def test_fake_data_needs_the_db(self):
        with self.assertRaises(ValueError):
            fakemaster.make_master(self, wantData=True)

    def test_explicit_reactor_and_basedir(self):
        other = object()
        master = fakemaster.make_master(self, reactor=other, basedir="/tmp/x", masterid=3)
        self.assertIs(master.reactor, other)
        self.assertEqual((master.basedir, master.masterid), ("/tmp/x", 3))


class TestMakeMasterWithoutReactor(unittest.TestCase):
    def test_needs_a_reactor(self):
        with self.assertRaises(RuntimeError) as cm:
            fakemaster.make_master(self)
        self.assertIn("setup_test_reactor", str(cm.exception))
