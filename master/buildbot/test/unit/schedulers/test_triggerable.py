"""Triggerable: buildsets made by `trigger()` and the wait for their completion."""

from twisted.internet import defer
from twisted.trial import unittest

from buildbot import config, interfaces
from buildbot.process.properties import Properties
from buildbot.process.results import FAILURE, SUCCESS, WARNINGS
from buildbot.schedulers.base import DisabledSchedulerError
from buildbot.schedulers.triggerable import Triggerable
from buildbot.test import fakedb
from buildbot.test.unit.schedulers.test_base import Started
from buildbot.util import eventual


def consumers_of_complete(mq):
    return [q for q in mq._consumers if q.filter == ("buildsets", None, "complete")]


class ConfigTests(unittest.TestCase):
    def test_signature_and_interface(self):
        s = Triggerable("t", ["a"], properties={"p": 1}, reason="why", priority=2)
        self.assertTrue(interfaces.ITriggerableScheduler.providedBy(s))
        self.assertEqual(s.listBuilderNames(), ["a"])
        self.assertEqual(s.reason, "why")
        self.assertEqual(s.priority, 2)
        self.assertEqual(s.properties["p"], (1, "Scheduler"))

    def test_bad_reason(self):
        with config.capture_config_errors() as errors:
            Triggerable("t", ["a"], reason=3)
        self.assertEqual(len(errors.errors), 1)
        self.assertIn("reason", errors.errors[0])


class TriggerTests(Started, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data(
            [fakedb.Builder(id=1, name="a"), fakedb.Builder(id=2, name="b")]
        )

    async def finish(self, brids, results):
        """Complete the requests as the build engine would."""
        await self.updates.claimBuildRequests(list(brids.values()))
        await self.updates.completeBuildRequests(list(brids.values()), results)
        await eventual.flushEventualQueue()

    async def test_trigger_and_wait(self):
        s = await self.add(Triggerable("t", ["a", "b"], properties={"own": 1}))
        props = Properties()
        props.setProperty("given", "x", "Trigger")
        ids_d, results_d = s.trigger(
            True,
            sourcestamps=[{"codebase": "", "repository": "r", "branch": "main", "revision": "7"}],
            set_props=props,
            parent_buildid=None,
            parent_relationship="Triggered from",
        )
        bsid, brids = await ids_d
        self.assertEqual(sorted(brids), [1, 2])
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertTrue(call["waited_for"])
        self.assertEqual(call["reason"], "The Triggerable scheduler named 't' triggered this build")
        self.assertEqual(call["parent_relationship"], "Triggered from")
        self.assertEqual(call["properties"]["given"], ("x", "Trigger"))
        self.assertEqual(call["properties"]["own"], (1, "Scheduler"))
        self.assertEqual(call["sourcestamps"][0]["revision"], "7")
        self.assertEqual(len(consumers_of_complete(self.master.mq)), 1)
        self.assertFalse(results_d.called)

        await self.updates.claimBuildRequests([brids[1]])
        await self.updates.completeBuildRequests([brids[1]], WARNINGS)
        await eventual.flushEventualQueue()
        self.assertFalse(results_d.called)
        await self.finish({2: brids[2]}, SUCCESS)
        self.assertEqual(await results_d, (WARNINGS, brids))
        # nobody waits any more: the subscription is gone
        self.assertEqual(consumers_of_complete(self.master.mq), [])
        bs = await self.master.data.get(("buildsets", bsid))
        self.assertTrue(bs["complete"])

    async def test_parent_build_recorded(self):
        await self.master.db.insert_test_data(
            [
                fakedb.Buildset(id=90),
                fakedb.BuildRequest(id=91, buildsetid=90, builderid=1),
                fakedb.Build(id=92, number=1, builderid=1, buildrequestid=91, masterid=824),
            ]
        )
        s = await self.add(Triggerable("t", ["b"], reason="mine"))
        ids_d, results_d = s.trigger(False, parent_buildid=92, parent_relationship="rel")
        results_d.addErrback(lambda _: None)  # failed at the master's stop
        bsid, _ = await ids_d
        bs = await self.master.data.get(("buildsets", bsid))
        self.assertEqual((bs["parent_buildid"], bs["parent_relationship"]), (92, "rel"))
        self.assertEqual(bs["reason"], "mine")

    async def test_reason_from_properties(self):
        s = await self.add(Triggerable("t", ["a"], reason="mine"))
        props = Properties()
        props.setProperty("reason", "theirs", "Trigger")
        ids_d, results_d = s.trigger(False, set_props=props)
        results_d.addErrback(lambda _: None)
        await ids_d
        self.assertEqual(self.updates.callsTo("addBuildset")[-1]["reason"], "theirs")

    async def test_two_waiters_one_subscription(self):
        s = await self.add(Triggerable("t", ["a"]))
        ids1, res1 = s.trigger(True)
        ids2, res2 = s.trigger(True)
        _, brids1 = await ids1
        _, brids2 = await ids2
        self.assertEqual(len(consumers_of_complete(self.master.mq)), 1)
        await self.finish(brids2, FAILURE)
        self.assertEqual(await res2, (FAILURE, brids2))
        self.assertFalse(res1.called)
        await self.finish(brids1, SUCCESS)
        self.assertEqual(await res1, (SUCCESS, brids1))

    async def test_buildset_without_builders_completes_at_once(self):
        s = await self.add(Triggerable("t", []))
        ids_d, results_d = s.trigger(True)
        _, brids = await ids_d
        self.assertEqual(brids, {})
        self.assertEqual(await results_d, (SUCCESS, {}))
        self.assertEqual(consumers_of_complete(self.master.mq), [])

    async def test_cancel_forgets_the_waiter(self):
        s = await self.add(Triggerable("t", ["a"]))
        ids_d, results_d = s.trigger(True)
        _, brids = await ids_d
        results_d.cancel()
        self.assertEqual(s._waiters, {})
        self.assertEqual(consumers_of_complete(self.master.mq), [])
        await self.finish(brids, SUCCESS)
        with self.assertRaises(defer.CancelledError):
            await results_d

    async def test_deactivate_fails_the_waiters(self):
        s = await self.add(Triggerable("t", ["a"]))
        ids_d, results_d = s.trigger(True)
        await ids_d
        await s.disownServiceParent()
        with self.assertRaises(RuntimeError):
            await results_d
        self.assertEqual(consumers_of_complete(self.master.mq), [])

    async def test_disabled_refuses(self):
        await self.master.db.insert_test_data([fakedb.Scheduler(id=7, name="t", enabled=0)])
        s = await self.add(Triggerable("t", ["a"]))
        ids_d, results_d = s.trigger(True)
        with self.assertRaises(DisabledSchedulerError):
            await ids_d
        with self.assertRaises(DisabledSchedulerError):
            await results_d
        self.updates.assertNotCalled("addBuildset")
