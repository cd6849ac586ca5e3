"""The Trigger step, run against real Triggerable schedulers on the fake master."""

from twisted.trial import unittest

from buildbot import config
from buildbot.process.buildrequest import TempSourceStamp
from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Property
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.schedulers.base import BaseScheduler
from buildbot.schedulers.triggerable import Triggerable
from buildbot.steps.trigger import Trigger
from buildbot.test.steps import BUILDID, StepTestMixin
from buildbot.test.unit.schedulers.test_base import fakemaster_manager
from buildbot.util import eventual

URL = "http://localhost:8080/"


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


class ConfigTests(unittest.TestCase):
    def test_needs_schedulers(self):
        self.assertEqual(len(config_errors(lambda: Trigger())), 1)
        self.assertEqual(len(config_errors(lambda: Trigger(schedulerNames=[]))), 1)

    def test_exclusive_sourcestamp_options(self):
        for kwargs in (
            {"sourceStamps": [{"codebase": ""}], "updateSourceStamp": True},
            {"sourceStamp": {"codebase": ""}, "alwaysUseLatest": True},
            {"alwaysUseLatest": True, "updateSourceStamp": False},
        ):
            errors = config_errors(lambda kwargs=kwargs: Trigger(schedulerNames=["a"], **kwargs))
            self.assertEqual(len(errors), 1, kwargs)

    def test_unimportant_must_be_a_subset(self):
        errors = config_errors(
            lambda: Trigger(schedulerNames=["a"], unimportantSchedulerNames=["b"])
        )
        self.assertEqual(len(errors), 1)
        self.assertIn("subset", errors[0])

    def test_defaults(self):
        step = Trigger(schedulerNames=["a"])
        self.assertEqual(step.name, "trigger")
        self.assertTrue(step.updateSourceStamp)
        self.assertFalse(step.waitForFinish)
        self.assertEqual(step.parent_relationship, "Triggered from")
        self.assertFalse(Trigger(schedulerNames=["a"], alwaysUseLatest=True).updateSourceStamp)

    def test_copy_properties(self):
        step = Trigger(schedulerNames=["a"], set_properties={"x": 1}, copy_properties=["y"])
        self.assertEqual(step.set_properties["x"], 1)
        self.assertIsInstance(step.set_properties["y"], Property)


class TriggerTests(StepTestMixin, unittest.TestCase):
    async def setUp(self):
        await self.setup_step_test()
        self.master.scheduler_manager = fakemaster_manager()
        await self.master.scheduler_manager.setServiceParent(self.master)
        for sch in (
            Triggerable("t1", ["builder"]),
            Triggerable("t2", ["other"], codebases={"": {}, "lib": {"repository": "libr"}}),
            BaseScheduler("plain", ["builder"]),
        ):
            await sch.setServiceParent(self.master.scheduler_manager)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        await eventual.flushEventualQueue()
        self.build.sources = [
            TempSourceStamp(
                {"codebase": "", "repository": "r", "branch": "main", "revision": "1"}, []
            )
        ]

    def buildsets(self):
        return self.updates.callsTo("addBuildset")

    async def urls(self):
        return [(u["name"], u["url"]) for u in (await self.step_row())["urls"]]

    async def finish(self, brids, results):
        await self.updates.claimBuildRequests(brids)
        await self.updates.completeBuildRequests(brids, results)
        await eventual.flushEventualQueue()

    async def test_fire_and_forget(self):
        self.setup_step(
            Trigger(
                schedulerNames=["t1"],
                set_properties={"p": Interpolate("%(prop:who)s!")},
                copy_properties=["who"],
            ),
            who="me",
            got_revision="42",
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        [call] = self.buildsets()
        self.assertFalse(call["waited_for"])
        self.assertEqual(call["scheduler"], "t1")
        self.assertEqual(call["parent_buildid"], BUILDID)
        self.assertEqual(call["parent_relationship"], "Triggered from")
        self.assertEqual(call["properties"]["p"], ("me!", "Trigger"))
        self.assertEqual(call["properties"]["who"], ("me", "Trigger"))
        [ss] = call["sourcestamps"]
        # updateSourceStamp: the build's revision becomes got_revision
        self.assertEqual((ss["repository"], ss["branch"], ss["revision"]), ("r", "main", "42"))
        brid = (await self.master.data.get(("buildrequests",)))[-1]["buildrequestid"]
        self.assertEqual(await self.urls(), [(f"t1 #{brid}", f"{URL}#/buildrequests/{brid}")])
        self.assertEqual((await self.step_row())["state_string"], "triggered t1")
        # nothing waits for the triggered buildset
        self.assertEqual(self.master.scheduler_manager.namedServices["t1"]._waiters, {})

    async def test_sourcestamps_given_or_latest(self):
        stamp = {"codebase": "", "repository": "x", "branch": "b", "revision": "9"}
        self.setup_step(Trigger(schedulerNames=["t1"], sourceStamps=[stamp]), got_revision="42")
        await self.run_step()
        self.assertEqual(self.buildsets()[-1]["sourcestamps"][0]["revision"], "9")

        self.setup_step(Trigger(schedulerNames=["t2"], alwaysUseLatest=True))
        await self.run_step()
        stamps = self.buildsets()[-1]["sourcestamps"]
        self.assertEqual(
            [(s["codebase"], s["revision"]) for s in stamps], [("", None), ("lib", None)]
        )
        self.assertEqual(stamps[1]["repository"], "libr")

        self.setup_step(Trigger(schedulerNames=["t1"], updateSourceStamp=False), got_revision="42")
        await self.run_step()
        self.assertEqual(self.buildsets()[-1]["sourcestamps"][0]["revision"], "1")

    async def run_until_waiting(self):
        d = self.step.startStep(self.conn)
        await eventual.flushEventualQueue()
        self.assertFalse(d.called)
        return d

    async def test_wait_takes_the_worst_result(self):
        self.setup_step(Trigger(schedulerNames=["t1", "t2"], waitForFinish=True))
        d = await self.run_until_waiting()
        [c1, c2] = self.buildsets()
        self.assertTrue(c1["waited_for"] and c2["waited_for"])
        brs = [br["buildrequestid"] for br in await self.master.data.get(("buildrequests",))]
        t1_brid, t2_brid = brs[-2], brs[-1]
        await self.finish([t1_brid], WARNINGS)
        self.assertFalse(d.called)
        await self.finish([t2_brid], FAILURE)
        self.assertEqual(await d, FAILURE)
        self.assertEqual((await self.step_row())["results"], FAILURE)

    async def test_unimportant_results_are_ignored(self):
        self.setup_step(
            Trigger(
                schedulerNames=["t1", "t2"],
                unimportantSchedulerNames=["t2"],
                waitForFinish=True,
            )
        )
        d = await self.run_until_waiting()
        brs = [br["buildrequestid"] for br in await self.master.data.get(("buildrequests",))]
        await self.finish([brs[-2]], WARNINGS)
        await self.finish([brs[-1]], FAILURE)
        self.assertEqual(await d, WARNINGS)

    async def test_build_urls_after_completion(self):
        self.setup_step(Trigger(schedulerNames=["t1"], waitForFinish=True))
        d = await self.run_until_waiting()
        brid = (await self.master.data.get(("buildrequests",)))[-1]["buildrequestid"]
        await self.updates.claimBuildRequests([brid])
        buildid, number = await self.updates.addBuild(builderid=5, buildrequestid=brid, workerid=1)
        await self.updates.finishBuild(buildid, SUCCESS)
        await self.updates.completeBuildRequests([brid], SUCCESS)
        await eventual.flushEventualQueue()
        self.assertEqual(await d, SUCCESS)
        self.assertIn(
            (f"success: builder #{number}", f"{URL}#/builders/5/builds/{number}"),
            await self.urls(),
        )

    async def test_interrupt_cancels(self):
        self.setup_step(Trigger(schedulerNames=["t1"], waitForFinish=True))
        d = await self.run_until_waiting()
        brid = (await self.master.data.get(("buildrequests",)))[-1]["buildrequestid"]
        await self.step.interrupt("stop it")
        self.assertEqual(await d, CANCELLED)
        br = await self.master.data.get(("buildrequests", brid))
        self.assertTrue(br["complete"])
        self.assertEqual(br["results"], CANCELLED)

    async def test_invalid_scheduler(self):
        self.setup_step(Trigger(schedulerNames=["t1", "plain", "nope"]))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(self.buildsets(), [])
        self.assertEqual(
            (await self.step_row())["state_string"], "not valid scheduler: plain nope (failure)"
        )

    async def test_trigger_failure_is_an_exception(self):
        await self.master.data.updates.schedulerEnable(
            self.master.scheduler_manager.namedServices["t1"].serviceid, False
        )
        await eventual.flushEventualQueue()
        self.setup_step(Trigger(schedulerNames=["t1"], waitForFinish=True))
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.flushLoggedErrors()
