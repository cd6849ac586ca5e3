from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.process.results import SKIPPED, SUCCESS
from buildbot.test import fakedb
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.unit.process.buildfakes import BuildEngineMixin, StepFactory


class TestDistributor(BuildEngineMixin, TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        await self.setUpEngine()
        self.ran: list[str] = []

    def step(self, name, **kw):
        return StepFactory(name, SUCCESS, self.ran, **kw)

    async def queue_three(self, builder="b1", **kw):
        brids = []
        for rev in ("r1", "r2", "r3"):
            ss = [{"branch": "main", "revision": rev, "repository": "r", "codebase": ""}]
            brids += (await self.add_buildset(builder, sourcestamps=ss, **kw)).values()
        return brids

    async def test_paused_worker_takes_nothing_and_collapse_keeps_newest(self):
        worker = self.add_worker("w1", ["b1"])
        worker.paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}])
        brids = await self.queue_three()
        await self.settle()
        self.assertEqual(await self.builds(), [])
        worker.paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        reqs = await self.requests()
        # revisions differ and the stamps carry no changes: nothing collapses
        self.assertEqual([reqs[b]["results"] for b in brids], [SUCCESS] * 3)

    async def test_collapse_same_revision(self):
        worker = self.add_worker("w1", ["b1"])
        worker.paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}])
        brids = []
        for _ in range(3):
            brids += (await self.add_buildset("b1")).values()
        await self.settle()
        worker.paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        reqs = await self.requests()
        self.assertEqual([reqs[b]["results"] for b in brids], [SKIPPED, SKIPPED, SUCCESS])
        self.assertEqual(len(await self.builds()), 1)

    async def test_collapse_reads_each_buildset_once_per_pass(self):
        worker = self.add_worker("w1", ["b1"])
        worker.paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}])
        brids = []
        for rev in ("r1", "r2", "r3", "r4"):
            ss = [{"branch": "main", "revision": rev, "repository": "r", "codebase": ""}]
            brids += (await self.add_buildset("b1", sourcestamps=ss)).values()
        await self.settle()
        reads = []
        data_get = self.master.data.get

        def counting(path, *args, **kwargs):
            if path[0] == "buildsets" and len(path) == 2:
                reads.append(path[1])
            return data_get(path, *args, **kwargs)

        self.patch(self.master.data, "get", counting)
        worker.paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        # 6 pairs compared, none collapsible: each of the 4 buildsets is read once
        # for that (not once per pair: 16 reads), and once more as its build starts
        requests = await self.requests()
        self.assertEqual([requests[b]["results"] for b in brids], [SUCCESS] * 4)
        self.assertEqual(len(reads), 4 + 4)

    async def test_collapse_disabled(self):
        worker = self.add_worker("w1", ["b1"])
        worker.paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}], collapseRequests=False)
        brids = []
        for _ in range(3):
            brids += (await self.add_buildset("b1")).values()
        worker.paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        reqs = await self.requests()
        self.assertEqual([reqs[b]["results"] for b in brids], [SUCCESS] * 3)
        self.assertEqual(len(await self.builds()), 3)

    async def test_max_builds_and_priority(self):
        gates = [defer.Deferred() for _ in range(3)]
        order = []

        def next_gate(build):
            order.append(build.requests[0].priority)
            return True

        self.add_worker("w1", ["b1"], max_builds=1)
        factory = StepFactory("s", SUCCESS, self.ran)
        await self.configure(
            [{"name": "b1", "steps": [factory], "extra": {"do_build_if": next_gate}}],
            collapseRequests=False,
        )
        worker = self.master.workers.workers["w1"]
        worker.paused = True
        for prio in (1, 5, 3):
            await self.add_buildset("b1", priority=prio)
        await self.settle()
        worker.paused = False
        factory.kwargs["gate"] = gates[0]
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        self.assertEqual(len(worker.building), 1)
        self.assertEqual(order, [5])
        for gate in gates:
            factory.kwargs["gate"] = None
            if not gate.called:
                gate.callback(SUCCESS)
            await self.settle()
        self.assertEqual(order, [5, 3, 1])

    async def test_one_build_per_builder_per_worker(self):
        # max_builds=2 lets the worker take two builds, but never two of one builder:
        # they would share the builder's directory and the worker's command slot
        gate = defer.Deferred()
        self.add_worker("w1", ["b1", "b2"], max_builds=2)
        factory = StepFactory("s", SUCCESS, self.ran, gate=gate)
        await self.configure(
            [{"name": "b1", "steps": [factory]}, {"name": "b2", "steps": [factory]}],
            collapseRequests=False,
        )
        worker = self.master.workers.workers["w1"]
        b1_brids = []
        for _ in range(2):
            b1_brids += (await self.add_buildset("b1")).values()
        await self.settle()
        self.assertEqual(len(worker.building), 1)
        await self.add_buildset("b2")
        await self.settle()
        self.assertEqual(sorted(b.builder.name for b in worker.building), ["b1", "b2"])
        factory.kwargs["gate"] = None
        gate.callback(SUCCESS)
        await self.settle()
        reqs = await self.requests()
        self.assertEqual([reqs[b]["results"] for b in b1_brids], [SUCCESS, SUCCESS])
        self.assertEqual(len(await self.builds()), 3)
        self.assertEqual(worker.building, set())

    async def test_request_claimed_elsewhere_is_skipped(self):
        self.add_worker("w1", ["b1"]).paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}])
        (brid,) = (await self.add_buildset("b1")).values()
        await self.master.db.insert_test_data([fakedb.Master(id=2, name="other")])
        await self.master.db.buildrequests.claimBuildRequests([brid])
        await self.master.db.buildrequests.unclaimBuildRequests([brid])
        self.master.masterid = 2
        await self.master.data.updates.claimBuildRequests([brid])
        self.master.masterid = 1
        self.master.workers.workers["w1"].paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        self.assertEqual(await self.builds(), [])

    async def test_next_worker_and_can_start_build(self):
        self.add_worker("w1", ["b1"])
        self.add_worker("w2", ["b1"])
        chosen = []

        def next_worker(builder, wfbs, breq):
            chosen.append(sorted(w.worker.name for w in wfbs))
            return next(w for w in wfbs if w.worker.name == "w2")

        await self.configure(
            [
                {
                    "name": "b1",
                    "workernames": ["w1", "w2"],
                    "steps": [self.step("s")],
                    "extra": {"nextWorker": next_worker},
                }
            ]
        )
        await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["workerid"], 12)
        self.assertEqual(chosen, [["w1", "w2"]])

    async def test_can_start_build_refuses(self):
        self.add_worker("w1", ["b1"])
        await self.configure(
            [
                {
                    "name": "b1",
                    "steps": [self.step("s")],
                    "extra": {"canStartBuild": lambda *a: False},
                }
            ]
        )
        (brid,) = (await self.add_buildset("b1")).values()
        await self.settle()
        self.assertEqual(await self.builds(), [])
        self.assertFalse((await self.requests())[brid]["claimed"])

    async def test_cancel_pending_request(self):
        self.add_worker("w1", ["b1"]).paused = True
        await self.configure([{"name": "b1", "steps": [self.step("s")]}])
        (brid,) = (await self.add_buildset("b1")).values()
        await self.master.data.control("cancel", {"reason": "no"}, ("buildrequests", brid))
        self.master.workers.workers["w1"].paused = False
        await self.botmaster.maybeStartBuildsForWorker("w1")
        await self.settle()
        self.assertEqual(await self.builds(), [])
        self.assertEqual((await self.requests())[brid]["results"], 6)
