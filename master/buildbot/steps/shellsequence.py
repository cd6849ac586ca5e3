"""ShellSequence: several shell commands in one step, each with its own result flags."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import log
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.process import buildstep
from buildbot.process.properties import Properties
from buildbot.process.results import (
    EXCEPTION,
    SUCCESS,
    ResultComputingConfigMixin,
    computeResultAndTermination,
)
from buildbot.util import ComparableMixin


@implementer(interfaces.IRenderable)
class ShellArg(ResultComputingConfigMixin, ComparableMixin):
    """One command of a ShellSequence: `command`, the log it writes to (`logname`),
    and how its result counts (haltOnFailure, flunkOnFailure, ...)."""

    publicAttributes = [*ResultComputingConfigMixin.resultConfig, "command", "logname"]
    compare_attrs = tuple(publicAttributes)

    def __init__(self, command: Any = None, logname: str | None = None, **kwargs: Any) -> None:
        self.command = command
        self.logname = logname
        for name, value in kwargs.items():
            if name not in ResultComputingConfigMixin.resultConfig:
                config.error(f"ShellArg: unknown argument {name!r}")
                continue
            setattr(self, name, value)
        if command is None:
            config.error("ShellArg: the command must be given")

    def validateAttributes(self) -> None:
        command = self.command
        if not isinstance(command, str | list | tuple) and not _renderable(command):
            config.error(f"ShellArg: command must be a string or a list: {command!r}")
        if self.logname is not None and not isinstance(self.logname, str):
            if not _renderable(self.logname):
                config.error(f"ShellArg: logname must be a string: {self.logname!r}")

    def getRenderingFor(self, props: Properties) -> defer.Deferred[ShellArg]:
        return defer.ensureDeferred(self._render(props))

    async def _render(self, props: Properties) -> ShellArg:
        rendered = ShellArg.__new__(ShellArg)
        for name in self.publicAttributes:
            setattr(rendered, name, await props.render(getattr(self, name)))
        return rendered


def _renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


class ShellSequence(buildstep.ShellMixin, buildstep.BuildStep):
    """Runs `commands` (a list of ShellArg, or a renderable giving one) in order."""

    name = "ShellSequence"
    renderables = ["commands"]
    last_command: Any = None

    def __init__(self, commands: Any = None, **kwargs: Any) -> None:
        self.commands = commands
        kwargs = self.setupShellMixin(kwargs, prohibitArgs=["command"])
        super().__init__(**kwargs)
        if isinstance(commands, list):
            for arg in commands:
                if isinstance(arg, ShellArg):
                    arg.validateAttributes()
                else:
                    config.error(f"ShellSequence: {arg!r} is not a ShellArg")

    def shouldRunTheCommand(self, command: Any) -> bool:
        return bool(command)

    def getFinalState(self) -> Any:
        return self.getResultSummary()

    async def runShellSequence(self, commands: Any) -> int:
        if not isinstance(commands, list):
            log.msg(f"{self!r}: commands must be a list, not {commands!r}")
            return EXCEPTION
        overall = SUCCESS
        for arg in commands:
            if not isinstance(arg, ShellArg):
                log.msg(f"{self!r}: {arg!r} is not a ShellArg")
                return EXCEPTION
            if not self.shouldRunTheCommand(arg.command):
                continue
            self.last_command = arg.command
            cmd = await self.makeRemoteShellCommand(
                command=arg.command, stdioLogName=arg.logname or "stdio"
            )
            await self.runCommand(cmd)
            overall, terminate = computeResultAndTermination(arg, cmd.results(), overall)
            if terminate:
                break
        return overall

    def run(self) -> defer.Deferred[int]:
        return defer.ensureDeferred(self.runShellSequence(self.commands))
