"""Builds on a latent worker: the worker is started in the build's own
`worker_preparation` step (a real AbstractLatentWorker, an instance the test starts)."""

from __future__ import annotations

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.process.results import CANCELLED, RETRY, SUCCESS
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.unit.process.buildfakes import BuildEngineMixin, StepFactory
from buildbot.test.unit.worker.test_base import MiniConnection
from buildbot.worker.latent import AbstractLatentWorker, States


class LatentWorker(AbstractLatentWorker):
    """Its instances start when the test says so and stop at once."""

    def __init__(self, *args, **kwargs):
        self.starts: list[defer.Deferred] = []
        self.stops: list[bool] = []
        super().__init__(*args, **kwargs)

    def start_instance(self, build):
        d = defer.Deferred()
        self.starts.append(d)
        return d

    def stop_instance(self, fast=False):
        self.stops.append(fast)
        return defer.succeed(None)


class TestLatentBuild(BuildEngineMixin, TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        await self.setUpEngine()
        self.ran: list[str] = []

    async def setup_latent(self, builders=("b1",), steps=None, **kwargs):
        kwargs.setdefault("missing_timeout", 30)
        kwargs.setdefault("build_wait_timeout", 0)
        w = LatentWorker("w1", "pass", **kwargs)
        await w.setServiceParent(self.master)
        self.master.workers.workers["w1"] = w
        await self.configure(
            [
                {"name": name, "steps": steps or [StepFactory("s", SUCCESS, self.ran)]}
                for name in builders
            ]
        )
        return w

    async def login(self, w):
        w.starts[-1].callback(True)
        await w.attached(MiniConnection("w1"))
        await self.settle()

    async def steps_of(self, build):
        return list(await self.master.data.get(("builds", build["buildid"], "steps")))

    async def err_text(self, step):
        (lg,) = await self.master.data.get(("steps", step["stepid"], "logs"))
        self.assertEqual(lg["name"], "err.text")
        return (await self.master.data.get(("logs", lg["logid"], "contents")))["content"]

    def latent_states(self):
        """The states published, each once (an attach repeats the current one)."""
        states = []
        for key, data in self.master.mq.productions:
            if key == ("workers", "11", "state_updated"):
                if not states or states[-1] != data["latent_state"]:
                    states.append(data["latent_state"])
        return states

    async def test_build_exists_while_its_worker_starts(self):
        w = await self.setup_latent()
        brids = await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        self.assertFalse(build["complete"])
        self.assertEqual(build["state_string"], "preparing worker")
        (step,) = await self.steps_of(build)
        self.assertEqual(
            (step["name"], step["state_string"], step["complete"]),
            ("worker_preparation", "substantiating worker", False),
        )
        self.assertEqual(w.state, States.SUBSTANTIATING)
        worker = await self.master.data.get(("workers", 11))
        self.assertEqual(worker["latent_state"], "substantiating")
        await self.login(w)
        (build,) = await self.builds()
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(self.ran, ["s"])
        (prep, _) = await self.steps_of(build)
        self.assertEqual((prep["results"], prep["state_string"]), (SUCCESS, "worker ready"))
        props = await self.master.data.get(("builds", build["buildid"], "properties"))
        self.assertEqual(props["workername"], ("w1", "Worker"))
        (brid,) = brids.values()
        self.assertEqual((await self.requests())[brid]["results"], SUCCESS)
        # build_wait_timeout=0: stopped after the build
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertEqual(w.stops, [False])
        self.assertEqual(
            self.latent_states(),
            ["substantiating", "substantiated", "insubstantiating", "not_substantiated"],
        )

    async def test_failed_start_ends_the_build_retry_and_the_request_is_retried(self):
        w = await self.setup_latent()
        w.quarantine_initial_timeout = 10
        brids = await self.add_buildset("b1")
        await self.settle()
        w.starts[0].errback(RuntimeError("image 'x:1' not found\nmore detail"))
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["results"], RETRY)
        self.assertIn("worker failed to start", build["state_string"])
        self.assertIn("image 'x:1' not found", build["state_string"])
        self.assertNotIn("more detail", build["state_string"])
        (step,) = await self.steps_of(build)
        self.assertEqual((step["results"], step["state_string"]), (RETRY, "worker failed to start"))
        text = await self.err_text(step)
        self.assertIn("image 'x:1' not found\nmore detail", text)
        (brid,) = brids.values()
        req = (await self.requests())[brid]
        self.assertEqual((req["claimed"], req["complete"]), (False, False))
        self.assertEqual(w.stops, [True])
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertFalse(w.canStartBuild())  # quarantine
        # after the quarantine, the request is tried again
        self.reactor.advance(10)
        await self.settle()
        self.assertEqual(len(w.starts), 2)
        await self.login(w)
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [RETRY, SUCCESS])
        self.assertEqual((await self.requests())[brid]["results"], SUCCESS)

    async def test_stop_while_the_instance_starts_abandons_the_start(self):
        w = await self.setup_latent()
        brids = await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        await self.master.data.control("stop", {"reason": "no"}, ("builds", build["buildid"]))
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["results"], CANCELLED)
        (step,) = await self.steps_of(build)
        self.assertEqual(step["results"], CANCELLED)
        (brid,) = brids.values()
        self.assertEqual((await self.requests())[brid]["results"], CANCELLED)
        # start_instance is still running: what it starts is stopped once it returns
        self.assertEqual(w.stops, [])
        self.assertEqual(w.state, States.SUBSTANTIATING)
        w.starts[0].callback(True)
        self.assertEqual(w.stops, [True])
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        self.assertTrue(w.canStartBuild())  # no quarantine for a stop
        self.assertEqual(self.ran, [])

    async def test_stop_while_waiting_for_the_login(self):
        w = await self.setup_latent()
        await self.add_buildset("b1")
        await self.settle()
        w.starts[0].callback(True)
        (build,) = await self.builds()
        await self.master.data.control("stop", {"reason": "no"}, ("builds", build["buildid"]))
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["results"], CANCELLED)
        self.assertEqual(w.stops, [True])
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
        # a login arriving late is refused
        with self.assertRaises(RuntimeError):
            await w.attached(MiniConnection("w1"))

    async def test_builds_join_the_start_under_way(self):
        w = await self.setup_latent(builders=("b1", "b2"), max_builds=2)
        await self.add_buildset("b1")
        await self.add_buildset("b2")
        await self.settle()
        builds = await self.builds()
        self.assertEqual([b["state_string"] for b in builds], ["preparing worker"] * 2)
        self.assertEqual(len(w.starts), 1)
        await self.login(w)
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [SUCCESS, SUCCESS])
        self.assertEqual(self.ran, ["s", "s"])

    async def test_stopping_one_of_two_waiting_builds_keeps_the_start(self):
        w = await self.setup_latent(builders=("b1", "b2"), max_builds=2)
        await self.add_buildset("b1")
        await self.add_buildset("b2")
        await self.settle()
        first, _ = await self.builds()
        await self.master.data.control("stop", {"reason": "no"}, ("builds", first["buildid"]))
        await self.settle()
        self.assertEqual(w.state, States.SUBSTANTIATING)
        await self.login(w)
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [CANCELLED, SUCCESS])
        self.assertEqual(self.ran, ["s"])

    async def test_a_build_wanted_after_an_abandoned_start_starts_again(self):
        w = await self.setup_latent()
        await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        await self.master.data.control("stop", {"reason": "no"}, ("builds", build["buildid"]))
        await self.settle()
        # start_instance still runs for the abandoned start when the next build comes
        await self.add_buildset("b1")
        await self.settle()
        self.assertEqual(len(w.starts), 1)
        w.starts[0].callback(True)
        await self.settle()
        self.assertEqual(len(w.starts), 2)
        await self.login(w)
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [CANCELLED, SUCCESS])

    async def test_stop_all_builds_does_not_wait_for_the_start(self):
        w = await self.setup_latent()
        brids = await self.add_buildset("b1")
        await self.settle()
        self.botmaster.shutting_down = True
        await self.botmaster.stopAllBuilds("the master is stopping", RETRY)
        (build,) = await self.builds()
        self.assertEqual(build["results"], RETRY)
        (brid,) = brids.values()
        req = (await self.requests())[brid]
        self.assertEqual((req["claimed"], req["complete"]), (False, False))
        w.starts[0].callback(True)
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)

    async def test_substantiated_worker_needs_no_preparation(self):
        w = await self.setup_latent(build_wait_timeout=-1)
        await self.add_buildset("b1")
        await self.settle()
        await self.login(w)
        updates = self.master.data.updates
        updates.calls.clear()
        await self.add_buildset("b1")
        await self.settle()
        builds = await self.builds()
        self.assertEqual([b["results"] for b in builds], [SUCCESS, SUCCESS])
        self.assertEqual(len(w.starts), 1)
        self.assertNotIn(
            "preparing worker",
            [c["state_string"] for c in updates.callsTo("setBuildStateString")],
        )

    async def test_stopped_before_the_start_is_asked(self):
        w = await self.setup_latent()
        updates = self.master.data.updates
        real = updates._real["setStepStateString"]

        def stop_first(stepid, state_string):
            (build,) = self.botmaster.builders["b1"].building
            build.stopBuild("early")
            return real(stepid, state_string)

        updates.override("setStepStateString", stop_first)
        await self.add_buildset("b1")
        await self.settle()
        (build,) = await self.builds()
        self.assertEqual(build["results"], CANCELLED)
        (step,) = await self.steps_of(build)
        self.assertEqual((step["results"], step["state_string"]), (CANCELLED, "stopped"))
        self.assertEqual(w.starts, [])
        self.assertEqual(w.state, States.NOT_SUBSTANTIATED)
