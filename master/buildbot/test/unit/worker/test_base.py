import time

from twisted.internet import defer
from twisted.python import log
from twisted.spread import pb
from twisted.trial import unittest

from buildbot import config, interfaces
from buildbot.config.builder import BuilderConfig
from buildbot.config.master import MasterConfig
from buildbot.locks import WorkerLock
from buildbot.process.factory import BuildFactory
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.worker import Worker
from buildbot.worker.protocols.base import Connection


class TestWorkerConfig(unittest.TestCase):
    def errors(self, *args, **kwargs):
        with config.capture_config_errors() as errors:
            Worker(*args, **kwargs)
        return errors.errors

    def test_name_is_positional(self):
        w = Worker("w1", "pass")
        self.assertEqual((w.name, w.workername), ("w1", "w1"))
        self.assertTrue(interfaces.IWorker.providedBy(w))

    def test_good_settings(self):
        lock = WorkerLock("l")
        self.assertEqual(
            self.errors(
                "w1",
                "pass",
                max_builds=2,
                notify_on_missing=["a@b"],
                missing_timeout=10,
                properties={"a": 1},
                defaultProperties={"b": 2},
                locks=[lock.access("exclusive")],
                machine_name="m",
            ),
            [],
        )

    def test_bad_settings_all_reported(self):
        errors = self.errors(
            "w1",
            "pass",
            max_builds=0,
            notify_on_missing=3,
            missing_timeout=-1,
            properties=[],
            defaultProperties="x",
            locks="l",
            machine_name=5,
        )
        self.assertEqual(len(errors), 7, errors)
        for word in (
            "max_builds",
            "notify_on_missing",
            "missing_timeout",
            "properties",
            "defaultProperties",
            "locks",
            "machine_name",
        ):
            self.assertTrue(any(word in e for e in errors), word)
        self.assertTrue(all(e.startswith("worker 'w1': ") for e in errors))

    def test_notify_list_members_must_be_strings(self):
        self.assertEqual(len(self.errors("w1", "p", notify_on_missing=["a", 1])), 1)

    def test_lock_entries_checked(self):
        self.assertEqual(len(self.errors("w1", "p", locks=[object()])), 1)


class MiniConnection(Connection):
    """Just enough of a connection for `attached`: answers at once, builds nothing."""

    def remotePrint(self, message):
        return defer.succeed(None)

    def remoteGetWorkerInfo(self):
        self.info = {"host": "box"}
        return defer.succeed(dict(self.info))

    def remoteSetBuilderList(self, builders):
        return defer.succeed({})

    def loseConnection(self):
        self.notifyDisconnected()


class TestWorkerService(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    async def test_configured_on_start(self):
        w = Worker("w1", "pass", notify_on_missing="a@b", properties={"a": 1})
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.assertEqual(w.password, "pass")
        self.assertEqual(w.notify_on_missing, ["a@b"])
        self.assertEqual(w.properties, {"a": 1})
        worker = await self.master.data.get(("workers", w.workerid))
        self.assertEqual(worker["name"], "w1")

        # a sibling with new settings reconfigures it, keeping its id
        workerid = w.workerid
        await w.reconfigServiceWithSibling(Worker("w1", "new", max_builds=3))
        self.assertEqual((w.workerid, w.password, w.max_builds), (workerid, "new", 3))
        self.assertEqual(len(self.master.data.updates.callsTo("findWorkerId")), 1)


class TestWorkerMissing(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    async def start_worker(self, **kwargs):
        w = Worker("w1", "pass", notify_on_missing=["a@b", "c@d"], missing_timeout=30, **kwargs)
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        return w

    async def attach(self, w):
        conn = MiniConnection("w1")
        await w.attached(conn)
        return conn

    async def detach(self, w, conn):
        conn.loseConnection()
        if w._detaching is not None:
            await w._detaching

    def missing_calls(self):
        return self.master.data.updates.callsTo("workerMissing")

    async def test_timer_started_on_detach_stopped_on_reattach(self):
        w = await self.start_worker()
        conn = await self.attach(w)
        self.assertIsNone(w._missing_timer)
        await self.detach(w, conn)
        self.assertTrue(w._missing_timer.active())
        self.reactor.advance(29)
        # back before the timeout: nobody is told
        await self.attach(w)
        self.assertIsNone(w._missing_timer)
        self.reactor.advance(3600)
        self.assertEqual(self.missing_calls(), [])

    async def test_missing_reported_with_notify_list(self):
        w = await self.start_worker()
        conn = await self.attach(w)
        self.reactor.advance(5)
        await self.detach(w, conn)
        self.reactor.advance(29)
        self.assertEqual(self.missing_calls(), [])
        self.reactor.advance(1)
        self.master.data.updates.assertCalled(
            "workerMissing",
            workerid=w.workerid,
            masterid=self.master.masterid,
            notify=["a@b", "c@d"],
            # the last message came at the login, at time 0
            last_connection=time.ctime(0),
        )
        self.assertEqual(len(self.missing_calls()), 1)
        self.assertIsNone(w._missing_timer)
        # once only
        self.reactor.advance(3600)
        self.assertEqual(len(self.missing_calls()), 1)

    async def test_no_timeout_no_timer(self):
        w = Worker("w1", "pass", notify_on_missing="a@b", missing_timeout=None)
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        conn = await self.attach(w)
        await self.detach(w, conn)
        self.assertIsNone(w._missing_timer)

    async def test_timer_cancelled_on_stop(self):
        w = await self.start_worker()
        conn = await self.attach(w)
        await self.detach(w, conn)
        timer = w._missing_timer
        self.assertTrue(timer.active())
        await w.disownServiceParent()
        self.assertFalse(timer.active())
        self.assertIsNone(w._missing_timer)
        self.reactor.advance(3600)
        self.assertEqual(self.missing_calls(), [])


class LostWhileAttaching(MiniConnection):
    def remoteSetBuilderList(self, builders):
        return defer.fail(pb.PBConnectionLost("gone"))


class TestAttachRace(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    async def test_connection_lost_while_attaching_is_not_an_error(self):
        w = Worker("w1", "pass")
        await w.setServiceParent(self.master)
        self.master.config = MasterConfig()
        self.master.config.builders = [
            BuilderConfig(name="b1", workernames=["w1"], factory=BuildFactory())
        ]
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        messages = []
        log.addObserver(messages.append)
        self.addCleanup(log.removeObserver, messages.append)
        await w.attached(LostWhileAttaching("w1"))
        self.assertEqual(self.flushLoggedErrors(), [])
        text = [log.textFromEventDict(m) for m in messages]
        self.assertTrue(any("went away while attaching" in (t or "") for t in text), text)
