from __future__ import annotations

import os
import sys
from typing import Any

from twisted.internet import error
from twisted.internet import reactor as real_reactor
from twisted.python import failure
from twisted.trial import unittest

from buildbot.process.properties import Interpolate, Property, renderer
from buildbot.process.results import EXCEPTION, FAILURE, SUCCESS
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


class _FakeProcess:
    """A spawned process that only ends when signalled."""

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.signals: list[str] = []

    def signalProcess(self, signal: str) -> None:
        self.signals.append(signal)
        self.proto.processEnded(failure.Failure(error.ProcessTerminated(signal=9)))


class MasterShellCommandSignalTests(StepTestMixin, unittest.TestCase):
    """A process that never ends by itself, on the test clock."""

    async def setUp(self) -> None:
        await self.setup_step_test()
        self.processes: list[_FakeProcess] = []

        def spawnProcess(proto: Any, *args: Any, **kwargs: Any) -> _FakeProcess:
            proc = _FakeProcess(proto)
            self.processes.append(proc)
            return proc

        self.reactor.spawnProcess = spawnProcess

    async def test_runtime_timeout_kills(self):
        self.setup_step(
            master.MasterShellCommand(
                command="sleep 100", interruptSignal="TERM", runtime_timeout=10
            )
        )
        d = self.step.startStep(self.conn)
        self.reactor.advance(9)
        self.assertEqual(len(self.processes), 1)
        self.assertEqual(self.processes[0].signals, [])
        self.assertFalse(d.called)
        self.reactor.advance(1)
        self.assertEqual(self.processes[0].signals, ["KILL"])
        self.assertEqual(await d, FAILURE)
        self.assertIn("hsignal 9\n", await self.log_text("stdio"))

    async def test_interrupt_sends_interrupt_signal(self):
        self.setup_step(master.MasterShellCommand(command="sleep 100", interruptSignal="TERM"))
        d = self.step.startStep(self.conn)
        self.reactor.advance(1)
        self.assertEqual(len(self.processes), 1)
        self.assertFalse(d.called)
        await self.step.interrupt("stop it")
        self.assertEqual(self.processes[0].signals, ["TERM"])
        self.assertEqual(await d, EXCEPTION)
        # the runtime timer went with the process
        self.reactor.advance(3600)
        self.assertEqual(self.processes[0].signals, ["TERM"])
