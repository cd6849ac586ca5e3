from __future__ import annotations

import os
import sys

from twisted.internet import reactor as real_reactor
from twisted.trial import unittest

from buildbot.process.properties import Interpolate, Property, renderer
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.steps import master
from buildbot.test.steps import StepTestMixin


class SetPropertyTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_set_property(self):
        self.setup_step(master.SetProperty(property="p", value=Interpolate("v-%(prop:x)s")), x="1")
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.build.getProperty("p"), "v-1")
        self.assertEqual(self.build.getProperties().getPropertySource("p"), "SetProperty Step")
        self.assertEqual((await self.step_row())["state_string"], "Set")

    async def test_set_properties(self):
        @renderer
        def props(p):
            return {"a": p.getProperty("x"), "b": 2}

        for properties in ({"a": Property("x"), "b": 2}, props):
            self.setup_step(master.SetProperties(properties=properties), x="one")
            self.assertEqual(await self.run_step(), SUCCESS)
            self.assertEqual((self.build.getProperty("a"), self.build.getProperty("b")), ("one", 2))


class MasterShellCommandTests(StepTestMixin, unittest.TestCase):
    """These run real processes on the real reactor; the rest stays on the test clock."""

    async def setUp(self) -> None:
        await self.setup_step_test()
        self.reactor.spawnProcess = real_reactor.spawnProcess

    async def test_runs_in_workdir_with_env(self):
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        self.setup_step(
            master.MasterShellCommand(
                command='echo "$FOO $BAR"; pwd; echo err >&2',
                env={"FOO": ["a", "b"], "BAR": "${HOME}"},
                workdir=workdir,
            )
        )
        self.assertEqual(await self.step.startStep(self.conn), SUCCESS)
        text = await self.log_text("stdio")
        self.assertIn(f"o{os.pathsep.join(['a', 'b'])} {os.environ.get('HOME', '')}\n", text)
        self.assertIn(f"o{workdir}\n", text)
        self.assertIn("eerr\n", text)
        self.assertIn("hexit status 0\n", text)

    async def test_failure_list_command(self):
        self.setup_step(master.MasterShellCommand(command=[sys.executable, "-c", "exit(3)"]))
        self.assertEqual(await self.step.startStep(self.conn), FAILURE)
        self.assertIn("hexit status 3\n", await self.log_text("stdio"))
        self.assertTrue(self.step.haltOnFailure)
