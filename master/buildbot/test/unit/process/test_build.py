from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.locks import MasterLock
from buildbot.process.results import (
    CANCELLED,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.unit.process.buildfakes import BuildEngineMixin, StepFactory


class TestBuild(BuildEngineMixin, TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        await self.setUpEngine()
        self.ran: list[str] = []

    def step(self, name, result=SUCCESS, **kw):
        return StepFactory(name, result, self.ran, **kw)

    async def run_one(self, steps, extra=None, **cfg):
        self.add_worker("w1", ["b1"])
        await self.configure([{"name": "b1", "steps": steps, "extra": extra or {}}], **cfg)
        brids = await self.add_buildset("b1", properties={"fromset": ("x", "Scheduler")})
        await self.settle()
        (build,) = await self.builds()
        return build, brids

    async def step_rows(self, buildid):
        steps = await self.master.data.get(("builds", buildid, "steps"))
        return [(s["name"], s["results"]) for s in steps]

    async def test_success(self):
        build, brids = await self.run_one(
            [self.step("s1", set_props={"made": 1}), self.step("s2")],
            extra={"properties": {"bp": 2}, "defaultProperties": {"buildername": "no"}},
            properties={"gp": 3},
        )
        self.assertEqual(self.ran, ["s1", "s2"])
        self.assertTrue(build["complete"])
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(build["state_string"], "build successful")
        self.assertEqual(build["workerid"], 11)
        self.assertEqual(
            await self.step_rows(build["buildid"]),
            [("worker_preparation", SUCCESS), ("s1", SUCCESS), ("s2", SUCCESS)],
        )
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        # as in Buildbot 4.3, the lock-less worker_preparation counts its locks acquired
        self.assertEqual(steps[0]["locks_acquired_at"], steps[0]["started_at"])
        props = await self.master.data.get(("builds", build["buildid"], "properties"))
        self.assertEqual(props["buildername"], ("b1", "Builder"))
        self.assertEqual(props["workername"], ("w1", "Worker"))
        self.assertEqual(props["buildnumber"], (build["number"], "Build"))
        self.assertEqual(props["branch"], ("main", "Build"))
        self.assertEqual(props["builddir"], ("/w/w1/b1", "Worker"))
        self.assertEqual(props["fromset"], ("x", "Scheduler"))
        self.assertEqual(props["gp"][0], 3)
        self.assertEqual(props["bp"], (2, "Builder"))
        self.assertEqual(props["made"], (1, "FakeStep"))
        reqs = await self.requests()
        (brid,) = brids.values()
        self.assertTrue(reqs[brid]["complete"])
        self.assertEqual(reqs[brid]["results"], SUCCESS)
        self.assertEqual(self.botmaster.builders["b1"].building, [])
        self.assertEqual(self.master.workers.workers["w1"].building, set())

    async def test_only_changed_properties_are_written(self):
        writes = []
        updates = self.master.data.updates
        real = updates.setBuildProperties

        def spy(buildid, props):
            writes.append(sorted(props))
            return real(buildid, props)

        self.patch(updates, "setBuildProperties", spy)
        build, _ = await self.run_one(
            [self.step("s1"), self.step("s2", set_props={"made": 1}), self.step("s3")]
        )
        # all of them when the build starts, then only `made`; s1 and s3 change nothing
        self.assertIn("buildername", writes[0])
        self.assertEqual(writes[1:], [["made"]])
        props = await self.master.data.get(("builds", build["buildid"], "properties"))
        self.assertEqual(props["made"], (1, "FakeStep"))

    async def test_halt_on_failure_runs_only_always_run_steps(self):
        build, _ = await self.run_one(
            [
                self.step("s1", FAILURE, haltOnFailure=True, build_text="s1 broke"),
                self.step("s2"),
                self.step("cleanup", alwaysRun=True),
            ]
        )
        self.assertEqual(self.ran, ["s1", "cleanup"])
        self.assertEqual(build["results"], FAILURE)
        self.assertEqual(build["state_string"], "failed s1 broke")
        names = [n for n, _ in await self.step_rows(build["buildid"])]
        self.assertEqual(names, ["worker_preparation", "s1", "cleanup"])

    async def test_result_mapping(self):
        build, _ = await self.run_one(
            [
                self.step("soft", FAILURE, flunkOnFailure=False, warnOnFailure=True),
                self.step("ignored", FAILURE, flunkOnFailure=False),
                self.step("warn", WARNINGS),
                self.step("after"),
            ]
        )
        self.assertEqual(self.ran, ["soft", "ignored", "warn", "after"])
        self.assertEqual(build["results"], WARNINGS)

    async def test_flunk_on_warnings(self):
        build, _ = await self.run_one(
            [self.step("w", WARNINGS, flunkOnWarnings=True), self.step("next")]
        )
        self.assertEqual(build["results"], FAILURE)
        self.assertEqual(self.ran, ["w", "next"])

    async def test_do_build_if_false_skips(self):
        build, _ = await self.run_one([self.step("s1")], extra={"do_build_if": lambda b: False})
        self.assertEqual(self.ran, [])
        self.assertEqual(build["results"], SKIPPED)

    async def test_stop_build(self):
        gate = defer.Deferred()
        factory = self.step("long", gate=gate)
        self.add_worker("w1", ["b1"])
        await self.configure(
            [
                {
                    "name": "b1",
                    "steps": [factory, self.step("after"), self.step("always", alwaysRun=True)],
                }
            ]
        )
        brids = await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        self.assertFalse(build["complete"])
        await self.master.data.control("stop", {"reason": "enough"}, ("builds", build["buildid"]))
        await self.settle()
        self.assertEqual(factory.built[0].interrupted, "enough")
        (build,) = await self.builds()
        self.assertEqual(build["results"], CANCELLED)
        self.assertEqual(self.ran, ["long", "always"])
        (brid,) = brids.values()
        self.assertEqual((await self.requests())[brid]["results"], CANCELLED)

    async def test_worker_lost_is_retry_and_request_returns(self):
        gate = defer.Deferred()
        worker = self.add_worker("w1", ["b1"])
        await self.configure([{"name": "b1", "steps": [self.step("long", gate=gate)]}])
        brids = await self.add_buildset("b1")
        await self.settle()
        conn = worker.conn
        worker.conn = None
        conn.lose()
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["results"], RETRY)
        (brid,) = brids.values()
        req = (await self.requests())[brid]
        self.assertFalse(req["claimed"])
        self.assertFalse(req["complete"])
        # the worker comes back: the request runs again
        gate2 = defer.Deferred()
        self.botmaster.builders["b1"].config.factory.steps[0].kwargs["gate"] = gate2
        worker.conn = type(conn)(["b1"])
        await self.botmaster.maybeStartBuildsForWorker("w1")
        gate2.callback(SUCCESS)
        await self.settle()
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [RETRY, SUCCESS])
        self.assertEqual((await self.requests())[brid]["results"], SUCCESS)

    async def test_stop_while_waiting_for_builder_locks(self):
        lock = MasterLock("one")
        gate = defer.Deferred()
        self.add_worker("w1", ["b1"])
        self.add_worker("w2", ["b2"])
        await self.configure(
            [
                {"name": "b1", "steps": [self.step("a", gate=gate)], "extra": {"locks": [lock]}},
                {
                    "name": "b2",
                    "workernames": ["w2"],
                    "steps": [self.step("b")],
                    "extra": {"locks": [lock.access("exclusive")]},
                },
            ]
        )
        await self.add_buildset("b1")
        await self.settle()
        await self.add_buildset("b2")
        await self.settle()
        b2id = await self.botmaster.builders["b2"].getBuilderId()
        builds = {b["builderid"]: b for b in await self.builds()}
        waiting = builds[b2id]
        self.assertEqual(waiting["state_string"], "waiting for locks")
        await self.master.data.control("stop", {"reason": "no"}, ("builds", waiting["buildid"]))
        await self.settle()
        builds = {b["builderid"]: b for b in await self.builds()}
        self.assertEqual(builds[b2id]["results"], CANCELLED)
        self.assertEqual(
            await self.step_rows(waiting["buildid"]),
            [("worker_preparation", SUCCESS), ("locks_acquire", CANCELLED)],
        )
        self.assertEqual(self.ran, ["a"])  # b never ran
        gate.callback(SUCCESS)
        await self.settle()
        self.assertEqual(self.ran, ["a"])

    async def test_builder_locks(self):
        lock = MasterLock("one")
        gate = defer.Deferred()
        self.add_worker("w1", ["b1"])
        self.add_worker("w2", ["b2"])
        await self.configure(
            [
                {"name": "b1", "steps": [self.step("a", gate=gate)], "extra": {"locks": [lock]}},
                {
                    "name": "b2",
                    "workernames": ["w2"],
                    "steps": [self.step("b")],
                    "extra": {"locks": [lock.access("exclusive")]},
                },
            ]
        )
        await self.add_buildset("b1")
        await self.settle()
        await self.add_buildset("b2")
        await self.settle()
        builds = {b["builderid"]: b for b in await self.builds()}
        b2id = await self.botmaster.builders["b2"].getBuilderId()
        self.assertEqual(builds[b2id]["state_string"], "waiting for locks")
        self.assertEqual(self.ran, ["a"])
        self.reactor.advance(5)
        gate.callback(SUCCESS)
        await self.settle()
        self.assertEqual(self.ran, ["a", "b"])
        builds = {b["builderid"]: b for b in await self.builds()}
        self.assertEqual(builds[b2id]["results"], SUCCESS)
        self.assertEqual(builds[b2id]["locks_duration_s"], 5)
        rows = await self.step_rows(builds[b2id]["buildid"])
        self.assertEqual(
            rows, [("worker_preparation", SUCCESS), ("locks_acquire", SUCCESS), ("b", SUCCESS)]
        )
