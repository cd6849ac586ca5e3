"""Stand-ins for the config objects this project has not built yet (workers,
schedulers, change sources...): they declare the interfaces the loader checks."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from buildbot import interfaces
from buildbot.config.builder import BuilderConfig
from buildbot.process.factory import BuildFactory


@implementer(interfaces.IWorker)
class FakeWorker:
    def __init__(self, name: str, machine_name: str | None = None) -> None:
        self.workername = name
        self.name = name
        self.machine_name = machine_name


@implementer(interfaces.IScheduler)
class FakeScheduler:
    def __init__(self, name: str, builderNames: Any) -> None:
        self.name = name
        self.builderNames = builderNames

    def listBuilderNames(self) -> Any:
        return self.builderNames


@implementer(interfaces.IChangeSource)
class FakeChangeSource:
    def __init__(self, name: str | None = None) -> None:
        self.name = name


@implementer(interfaces.IRenderable)
class FakeRenderable:
    def __init__(self, value: Any) -> None:
        self.value = value

    def getRenderingFor(self, props: Any) -> Any:
        return self.value


@implementer(interfaces.IMachine)
class FakeMachine:
    def __init__(self, name: str) -> None:
        self.name = name


class FakeProject:
    def __init__(self, name: str) -> None:
        self.name = name


class FakeCodebase:
    def __init__(self, name: str, project: str) -> None:
        self.name = name
        self.project = project


def minimal_config(**overrides: Any) -> dict[str, Any]:
    """A valid BuildmasterConfig dict: one worker, one builder, one scheduler."""
    c: dict[str, Any] = {
        "workers": [FakeWorker("w1")],
        "protocols": {"pb": {"port": 9989}},
        "builders": [BuilderConfig(name="b1", workernames=["w1"], factory=BuildFactory())],
        "schedulers": [FakeScheduler("s1", ["b1"])],
    }
    c.update(overrides)
    return c
