"""The latent worker state machine on a fake master and a test reactor (task.Clock)."""

from unittest import mock

from twisted.internet import defer
from twisted.trial import unittest

from buildbot import config
from buildbot.process.results import EXCEPTION, SUCCESS
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.unit.worker.test_base import MiniConnection
from buildbot.worker.base import Worker
from buildbot.worker.latent import (
    AbstractLatentWorker,
    LatentWorkerFailedToSubstantiate,
    LatentWorkerSubstantiationCancelled,
    States,
)


class ScriptedWorker(AbstractLatentWorker):
    """Its instance starts when the test says so."""

    def __init__(self, *args, **kwargs):
        self.calls = []
        self.start_d = None
        self.stop_d = None
        self.alive = (True, "")
        super().__init__(*args, **kwargs)

    def start_instance(self, build):
        self.calls.append("start")
        self.start_d = defer.Deferred()
        return self.start_d

    def stop_instance(self, fast=False):
        self.calls.append(("stop", fast))
        self.stop_d = defer.Deferred()
        return self.stop_d

    def check_instance(self):
        self.calls.append("check")
        return defer.succeed(self.alive)


class TestConfig(unittest.TestCase):
    def test_bad_settings(self):
        with config.capture_config_errors() as errors:
            ScriptedWorker("w", "p", build_wait_timeout="x", check_instance_interval=0)
        self.assertEqual(len(errors.errors), 2, errors.errors)


class TestLatent(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    async def make(self, **kwargs):
        kwargs.setdefault("missing_timeout", 30)
        w = ScriptedWorker("w1", "pass", **kwargs)
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.stop)
        return w

    async def stop(self):
        w = self.master.namedServices.get("w1")
        d = defer.ensureDeferred(self.master.stopService())
        if w is not None and w.stop_d is not None and not w.stop_d.called:
            w.stop_d.callback(None)
        await d

    async def substantiate(self, w):
        d = w.substantiate(None, None)
        self.assertEqual(w.state, States.SUBSTANTIATING)
        w.start_d.callback(True)
        conn = MiniConnection("w1")
        await w.attached(conn)
        await d
        return conn

    async def test_substantiate_then_idle_timeout(self):
        w = await self.make(build_wait_timeout=60)
        self.assertTrue(w.canStartBuild())
        await self.substantiate(w)
        self.assertTrue(w.isSubstantiated())
        w.building.add("b")
        w.buildStarted(None)
        w.building.clear()
        w.buildFinished(None, SUCCESS)
        self.reactor.advance(59)
        self.assertEqual(w.state, States.SUBSTANTIATED)
        self.reactor.advance(1)
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        self.assertEqual(w.calls[-1], ("stop", False))
        self.assertIsNone(w.conn)
        w.stop_d.callback(None)
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)

    async def test_zero_timeout_stops_after_each_build_and_negative_never(self):
        w = await self.make(build_wait_timeout=0)
        await self.substantiate(w)
        w.buildFinished(None, SUCCESS)
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        # a build wanted meanwhile waits for the stop, then starts a new instance
        d = w.substantiate(None, None)
        self.assertEqual(w.calls.count("start"), 1)
        w.stop_d.callback(None)
        self.assertEqual(w.calls.count("start"), 2)
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d
        w.build_wait_timeout = -1
        w.buildFinished(None, SUCCESS)
        self.reactor.advance(10000)
        self.assertEqual(w.state, States.SUBSTANTIATED)

    async def test_two_builds_share_one_start(self):
        w = await self.make(build_wait_timeout=0)
        d1 = w.substantiate(None, None)
        d2 = w.substantiate(None, None)
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d1
        await d2
        self.assertEqual(w.calls.count("start"), 1)

    async def test_missing_timeout_fails_and_quarantines(self):
        w = await self.make(missing_timeout=30)
        w.quarantine_initial_timeout = 10
        d = w.substantiate(None, None)
        w.start_d.callback(True)
        self.reactor.advance(30)
        self.assertEqual(w.calls[-1], ("stop", True))
        w.stop_d.callback(None)
        with self.assertRaises(LatentWorkerFailedToSubstantiate) as cm:
            await d
        self.assertIn("did not connect within 30 s", str(cm.exception))
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertFalse(w.canStartBuild())
        self.assertIn("quarantine 10 s", w.state_string)
        self.reactor.advance(10)
        self.assertTrue(w.canStartBuild())
        # a second failure doubles the quarantine; a good build resets it
        w._put_in_quarantine()
        self.assertEqual(w.quarantine_timeout, 20)
        w.buildFinished(None, SUCCESS)
        self.assertIsNone(w.quarantine_timeout)
        w.buildFinished(None, EXCEPTION)
        self.assertEqual(w.quarantine_timeout, 10)

    async def test_instance_exiting_while_starting(self):
        w = await self.make(check_instance_interval=2)
        d = w.substantiate(None, None)
        w.start_d.callback(True)
        self.reactor.advance(2)
        self.assertEqual(w.calls[-1], "check")
        w.alive = (False, "exited with code 3")
        self.reactor.advance(2)
        w.stop_d.callback(None)
        with self.assertRaises(LatentWorkerFailedToSubstantiate) as cm:
            await d
        self.assertIn("exited with code 3", str(cm.exception))

    async def test_start_error(self):
        w = await self.make()
        d = w.substantiate(None, None)
        w.start_d.errback(RuntimeError("no such image"))
        w.stop_d.callback(None)
        with self.assertRaises(LatentWorkerFailedToSubstantiate) as cm:
            await d
        self.assertIn("no such image", str(cm.exception))

    async def test_unexpected_login_refused(self):
        w = await self.make()
        with self.assertRaises(RuntimeError):
            await w.attached(MiniConnection("w1"))

    async def test_lost_worker_stops_instance(self):
        w = await self.make(build_wait_timeout=-1)
        conn = await self.substantiate(w)
        conn.loseConnection()
        if w._detaching is not None:
            await w._detaching
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        w.stop_d.callback(None)
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)

    async def test_reconfig_insubstantiates_idle_worker(self):
        w = await self.make(build_wait_timeout=-1)
        await self.substantiate(w)
        await w.reconfigServiceWithSibling(ScriptedWorker("w1", "new", build_wait_timeout=-1))
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        w.stop_d.callback(None)

    async def test_reconfig_while_building_stops_after_the_build(self):
        w = await self.make(build_wait_timeout=-1)
        await self.substantiate(w)
        w.building.add("b")
        await w.reconfigServiceWithSibling(ScriptedWorker("w1", "new", build_wait_timeout=-1))
        self.assertEqual(w.state, States.SUBSTANTIATED)
        w.building.clear()
        w.buildFinished(None, SUCCESS)
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        w.stop_d.callback(None)

    async def test_stop_service_stops_instance_fast(self):
        w = await self.make(build_wait_timeout=-1)
        await self.substantiate(w)
        d = defer.ensureDeferred(self.master.stopService())
        self.assertEqual(w.calls[-1], ("stop", True))
        w.stop_d.callback(None)
        await d
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertFalse(w.canStartBuild())

    async def test_stop_while_starting_cancels(self):
        w = await self.make()
        d = w.substantiate(None, None)
        w.start_d.callback(True)
        stopping = defer.ensureDeferred(self.master.stopService())
        w.stop_d.callback(None)
        await stopping
        with self.assertRaises(LatentWorkerSubstantiationCancelled):
            await d
        self.assertIsNone(w.quarantine_timeout)

    async def test_cancelling_the_only_wait_abandons_the_start(self):
        w = await self.make()
        d = w.substantiate(None, None)
        w.start_d.callback(True)
        d.cancel()
        with self.assertRaises(defer.CancelledError):
            await d
        self.assertEqual(w.calls[-1], ("stop", True))
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        w.stop_d.callback(None)
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertTrue(w.canStartBuild())  # no quarantine

    async def test_cancelling_one_of_two_waits_keeps_the_start(self):
        w = await self.make()
        d1 = w.substantiate(None, None)
        d2 = w.substantiate(None, None)
        d1.cancel()
        with self.assertRaises(defer.CancelledError):
            await d1
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d2
        self.assertEqual(w.state, States.SUBSTANTIATED)

    async def test_abandoned_while_start_instance_runs_which_then_fails(self):
        w = await self.make()
        d = w.substantiate(None, None)
        d.cancel()
        with self.assertRaises(defer.CancelledError):
            await d
        self.assertEqual(w.state, States.SUBSTANTIATING)
        # a build wanted meanwhile waits for the cleanup, then starts afresh
        d2 = w.substantiate(None, None)
        first = w.start_d
        first.errback(RuntimeError("boom"))
        w.stop_d.callback(None)
        self.assertEqual(w.calls.count("start"), 2)
        self.assertIsNot(w.start_d, first)
        self.assertIsNone(w.quarantine_timeout)
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d2

    async def test_start_instance_failing_at_once(self):
        class Failing(ScriptedWorker):
            def start_instance(self, build):
                self.calls.append("start")
                raise ValueError("bad image")

            def stop_instance(self, fast=False):
                self.calls.append(("stop", fast))
                return defer.succeed(None)

        w = Failing("w1", "pass")
        await w.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        with self.assertRaises(LatentWorkerFailedToSubstantiate) as cm:
            await w.substantiate(None, None)
        self.assertIn("bad image", str(cm.exception))
        self.assertEqual(w.calls, ["start", ("stop", True)])
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)

    async def test_start_returning_false_fails(self):
        w = await self.make()
        d = w.substantiate(None, None)
        w.start_d.callback(False)
        w.stop_d.callback(None)
        with self.assertRaises(LatentWorkerFailedToSubstantiate) as cm:
            await d
        self.assertIn("did not start", str(cm.exception))

    async def test_worker_gone_while_substantiated_is_restarted(self):
        w = await self.make(build_wait_timeout=-1)
        await self.substantiate(w)
        w.conn = None  # its detach is not through yet
        d = w.substantiate(None, None)
        self.assertEqual(w.state, States.INSUBSTANTIATING)
        w.stop_d.callback(None)
        self.assertEqual(w.state, States.SUBSTANTIATING)
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d

    async def test_no_start_while_stopping(self):
        w = await self.make()
        w._stopping = True
        with self.assertRaises(LatentWorkerSubstantiationCancelled):
            await w.substantiate(None, None)


class TestLatentState(TestReactorMixin, unittest.TestCase):
    """`latent_state` in the worker entity, and its `state_updated` events."""

    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)

    async def test_entity_and_events(self):
        w = ScriptedWorker("w1", "pass", build_wait_timeout=0, missing_timeout=30)
        other = Worker("w2", "pass")
        self.master.workers = mock.Mock()
        self.master.workers.getWorkerByName = {"w1": w, "w2": other}.get
        await w.setServiceParent(self.master)
        await other.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        entity = await self.master.data.get(("workers", w.workerid))
        self.assertEqual(entity["latent_state"], "not_substantiated")
        plain = await self.master.data.get(("workers", other.workerid))
        self.assertNotIn("latent_state", plain)
        listed = {e["name"]: e for e in await self.master.data.get(("workers",))}
        self.assertEqual(listed["w1"]["latent_state"], "not_substantiated")
        self.assertNotIn("latent_state", listed["w2"])

        d = w.substantiate(None, None)
        w.start_d.callback(True)
        await w.attached(MiniConnection("w1"))
        await d
        w.buildFinished(None, SUCCESS)
        w.stop_d.callback(None)
        events = [
            (data["latent_state"], data["name"])
            for key, data in self.master.mq.productions
            if key == ("workers", str(w.workerid), "state_updated")
        ]
        self.assertEqual(
            [s for s, _ in events],
            [
                "substantiating",
                "substantiating",  # the attach's own state_updated
                "substantiated",
                "insubstantiating",
                "not_substantiated",
            ],
        )
        self.assertEqual({n for _, n in events}, {"w1"})
        # the other worker's events do not carry it
        for key, data in self.master.mq.productions:
            if key[:2] == ("workers", str(other.workerid)):
                self.assertNotIn("latent_state", data)
