from __future__ import annotations

from twisted.trial import unittest
from zope.interface import implementer

from buildbot import interfaces
from buildbot.process.factory import BuildFactory


@implementer(interfaces.IBuildStepFactory)
class StepFactory:
    def __init__(self, name: str) -> None:
        self.name = name

    def buildStep(self):
        return self


class Step:
    """Like a step built in master.cfg: it hands out its factory."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_step_factory(self) -> StepFactory:
        return StepFactory(self.name)


class TestBuildFactory(unittest.TestCase):
    def test_defaults(self):
        f = BuildFactory()
        self.assertEqual(f.steps, [])
        self.assertEqual(f.workdir, "build")
        self.assertTrue(f.useProgress)

    def test_steps_become_factories(self):
        factory = StepFactory("a")
        f = BuildFactory([Step("s1"), factory])
        f.addStep(Step("s2"))
        f.addSteps([Step("s3")])
        self.assertEqual([s.name for s in f.steps], ["s1", "a", "s2", "s3"])
        self.assertIs(f.steps[1], factory)
        self.assertTrue(all(isinstance(s, StepFactory) for s in f.steps))

    def test_not_a_step(self):
        f = BuildFactory()
        self.assertRaises(TypeError, f.addStep, "echo hi")
        self.assertRaises(TypeError, f.addStep, Step)
        self.assertRaises(TypeError, BuildFactory, [object()])

    def test_with_secrets_not_yet(self):
        self.assertRaises(
            NotImplementedError, BuildFactory().addSteps, [], withSecrets=[("a", "b")]
        )

    def test_workdir_override(self):
        f = BuildFactory()
        f.workdir = "src"
        self.assertEqual(f.workdir, "src")
        self.assertEqual(BuildFactory.workdir, "build")

    def test_equality(self):
        self.assertEqual(BuildFactory(), BuildFactory())
        f = BuildFactory()
        f.workdir = "x"
        self.assertNotEqual(BuildFactory(), f)
