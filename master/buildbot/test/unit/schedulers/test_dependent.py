"""Dependent: builds the sourcestamps of its upstream's successful buildsets."""

from twisted.trial import unittest

from buildbot import config
from buildbot.process.results import FAILURE, SUCCESS, WARNINGS
from buildbot.schedulers.base import BaseScheduler
from buildbot.schedulers.dependent import UPSTREAM_BSIDS, Dependent
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import eventual, service

MASTERID = 824


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


class ConfigTests(unittest.TestCase):
    def test_upstream_must_be_a_scheduler(self):
        errors = config_errors(lambda: Dependent("d", "up", ["b"]))
        self.assertEqual(len(errors), 1)
        self.assertIn("upstream must be another Scheduler instance", errors[0])

    def test_arguments(self):
        up = BaseScheduler("up", ["a"])
        d = Dependent("d", up, ["b"], properties={"p": 1}, priority=2)
        self.assertEqual(d.upstream_name, "up")
        self.assertEqual(d.listBuilderNames(), ["b"])
        self.assertEqual(d.properties["p"], (1, "Scheduler"))
        self.assertEqual(d.priority, 2)
        d = Dependent(name="d", upstream=up, builderNames=["c"])
        self.assertEqual(d.listBuilderNames(), ["c"])


class DependentTests(TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, masterid=MASTERID
        )
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=1, name="a"),
                fakedb.Builder(id=2, name="b"),
            ]
        )
        mgr = service.BuildbotServiceManager()
        mgr.name = "scheduler_manager"
        mgr.config_attr = "schedulers"
        self.mgr = mgr
        await mgr.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.updates = self.master.data.updates
        self.up = await self.add(BaseScheduler("up", ["a"]))
        self.other = await self.add(BaseScheduler("other", ["a"]))

    async def add(self, s):
        await s.setServiceParent(self.mgr)
        await eventual.flushEventualQueue()
        return s

    async def dependent(self):
        return await self.add(Dependent("down", self.up, ["b"]))

    async def submit(self, scheduler=None, revision="r1"):
        bsid, brids = await (scheduler or self.up).addBuildsetForSourceStamps(
            sourcestamps=[
                {"codebase": "", "repository": "repo", "branch": "main", "revision": revision}
            ],
            reason="up",
        )
        await eventual.flushEventualQueue()
        return bsid, brids

    async def complete(self, bsid, brids, results):
        await self.master.db.buildrequests.claimBuildRequests(list(brids.values()))
        await self.master.db.buildrequests.completeBuildRequests(list(brids.values()), results)
        await self.updates.maybeBuildsetComplete(bsid)
        await eventual.flushEventualQueue()

    def downstream(self):
        return [c for c in self.updates.callsTo("addBuildset") if c["scheduler"] == "down"]

    async def test_success_and_warnings_start_a_downstream_buildset(self):
        d = await self.dependent()
        for results in (SUCCESS, WARNINGS):
            bsid, brids = await self.submit(revision=str(results))
            self.assertEqual(await d.getState(UPSTREAM_BSIDS), [bsid])
            self.assertEqual(len(self.downstream()), results)
            await self.complete(bsid, brids, results)
            self.assertEqual(await d.getState(UPSTREAM_BSIDS), [])
        calls = self.downstream()
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0]["reason"], "downstream")
        self.assertEqual(calls[0]["builderids"], [2])
        up_bs = await self.master.data.get(("buildsets", 1))
        self.assertEqual(calls[0]["sourcestamps"], [ss["ssid"] for ss in up_bs["sourcestamps"]])

    async def test_failure_starts_nothing(self):
        d = await self.dependent()
        bsid, brids = await self.submit()
        await self.complete(bsid, brids, FAILURE)
        self.assertEqual(self.downstream(), [])
        self.assertEqual(await d.getState(UPSTREAM_BSIDS), [])

    async def test_other_schedulers_are_ignored(self):
        d = await self.dependent()
        bsid, brids = await self.submit(scheduler=self.other)
        await self.complete(bsid, brids, SUCCESS)
        self.assertEqual(self.downstream(), [])
        self.assertEqual(await d.getState(UPSTREAM_BSIDS, []), [])

    async def test_upstream_buildset_without_builders_completes_at_once(self):
        empty = await self.add(BaseScheduler("empty", []))
        d = await self.add(Dependent("down", empty, ["b"]))
        await self.submit(scheduler=empty)
        self.assertEqual(len(self.downstream()), 1)
        self.assertEqual(await d.getState(UPSTREAM_BSIDS), [])

    async def test_restart_keeps_the_waited_buildsets(self):
        d = await self.dependent()
        bsid1, brids1 = await self.submit(revision="1")
        bsid2, brids2 = await self.submit(revision="2")
        await d.disownServiceParent()
        # completes while nobody runs the Dependent
        await self.complete(bsid1, brids1, SUCCESS)
        self.assertEqual(self.downstream(), [])
        d2 = await self.dependent()
        # the one completed meanwhile is built on activation
        self.assertEqual(len(self.downstream()), 1)
        self.assertEqual(await d2.getState(UPSTREAM_BSIDS), [bsid2])
        await self.complete(bsid2, brids2, SUCCESS)
        self.assertEqual(len(self.downstream()), 2)
        self.assertEqual(await d2.getState(UPSTREAM_BSIDS), [])

    async def test_vanished_buildset_is_forgotten(self):
        d = await self.dependent()
        await d.setState(UPSTREAM_BSIDS, [999])
        await d.disownServiceParent()
        d2 = await self.dependent()
        self.assertEqual(await d2.getState(UPSTREAM_BSIDS), [])

    async def test_errors_are_logged(self):
        await self.dependent()
        bsid, brids = await self.submit()
        self.updates.override("addBuildset", lambda **kw: 1 / 0)
        await self.complete(bsid, brids, SUCCESS)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    async def test_disabled_does_nothing(self):
        d = await self.dependent()
        await self.updates.schedulerEnable(d.serviceid, False)
        await eventual.flushEventualQueue()
        bsid, brids = await self.submit()
        await self.complete(bsid, brids, SUCCESS)
        self.assertEqual(self.downstream(), [])
        self.assertFalse([q for q in self.master.mq._consumers if q.filter[0] == "buildsets"])

    async def test_failed_activation_cleans_up(self):
        d = Dependent("down", self.up, ["b"])

        def broken():
            raise RuntimeError("no state")

        d._check_waited = broken
        await self.add(d)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertFalse(d.isActive())
        self.assertEqual(d._consumers, [])
