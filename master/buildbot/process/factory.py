"""BuildFactory: the list of steps a builder runs, as master.cfg describes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from buildbot import interfaces
from buildbot.util import ComparableMixin


def get_factory_from_step_or_factory(step: Any) -> Any:
    """The step factory for `step`: steps built in master.cfg hand out a factory
    (`get_step_factory`); an object that is already a factory is kept as is."""
    if not isinstance(step, type) and hasattr(step, "get_step_factory"):
        return step.get_step_factory()
    if not isinstance(step, type) and interfaces.IBuildStepFactory.providedBy(step):
        return step
    raise TypeError(f"step must be an instance of a BuildStep, not {step!r}")


class BuildFactory(ComparableMixin):
    """The steps of a build, in order.

    `workdir` is the default working directory of the steps, relative to the
    builder's directory on the worker.
    """

    # the class of the builds; set by the build engine
    buildClass: Any = None
    useProgress = True
    workdir: Any = "build"
    compare_attrs = ("buildClass", "steps", "useProgress", "workdir")

    def __init__(self, steps: Iterable[Any] | None = None) -> None:
        self.steps: list[Any] = []
        if steps:
            self.addSteps(steps)

    def addStep(self, step: Any) -> None:
        self.steps.append(get_factory_from_step_or_factory(step))

    def addSteps(self, steps: Iterable[Any], withSecrets: list | None = None) -> None:
        if withSecrets:
            # needs the secret transfer steps, which come with the build engine
            raise NotImplementedError("addSteps(withSecrets=...) is not supported yet")
        for step in steps:
            self.addStep(step)
