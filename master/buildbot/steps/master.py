"""Steps that run on the master: setting properties, running a local command."""

from __future__ import annotations

import os
import re
from typing import Any

from twisted.internet import defer, error, protocol
from twisted.python import failure

from buildbot import config
from buildbot.process import buildstep
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.util import flatten


class SetProperty(buildstep.BuildStep):
    name = "SetProperty"
    description = ["Setting"]
    descriptionDone = ["Set"]
    renderables = ["property", "value"]

    def __init__(self, property: Any, value: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.property = property
        self.value = value

    async def run(self) -> int:
        self.setProperty(self.property, self.value, "SetProperty Step", runtime=True)
        return SUCCESS


class SetProperties(buildstep.BuildStep):
    name = "SetProperties"
    description = ["Setting Properties.."]
    descriptionDone = ["Properties Set"]
    renderables = ["properties"]

    def __init__(self, properties: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.properties = properties

    async def run(self) -> int:
        if self.properties is None:
            return SUCCESS
        for name, value in dict(self.properties).items():
            self.setProperty(name, value, "SetProperties Step", runtime=True)
        return SUCCESS


class _LocalProcess(protocol.ProcessProtocol):
    """Sends a local process's output to a stdio log; `ended` fires with its exit code
    (None if killed by a signal)."""

    def __init__(self, stdio: Any) -> None:
        self.stdio = stdio
        self.writes: list[defer.Deferred[Any]] = []
        self.ended: defer.Deferred[int | None] = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self.writes.append(self.stdio.addStdout(data))

    def errReceived(self, data: bytes) -> None:
        self.writes.append(self.stdio.addStderr(data))

    def processEnded(self, reason: failure.Failure) -> None:
        value = reason.value
        if isinstance(value, error.ProcessTerminated) and value.signal is not None:
            self.writes.append(self.stdio.addHeader(f"signal {value.signal}\n"))
            self.ended.callback(None)
            return
        self.ended.callback(getattr(value, "exitCode", 0) or 0)


_VAR = re.compile(r"\$\{([0-9a-zA-Z_]*)\}")


class MasterShellCommand(buildstep.BuildStep):
    """Runs a command on the master, in the step's `workdir` if given, else in the
    master's working directory."""

    name = "MasterShellCommand"
    description = "Running"
    descriptionDone = "Ran"
    renderables = ["command", "env"]
    haltOnFailure = True
    flunkOnFailure = True

    def __init__(
        self,
        command: Any,
        env: dict[str, Any] | None = None,
        usePTY: Any = 0,
        interruptSignal: str = "KILL",
        logEnviron: bool = True,
        runtime_timeout: float | None = 3600,
        **kwargs: Any,
    ) -> None:
        self.command = command
        self.env = env
        self.usePTY = usePTY
        self.interruptSignal = interruptSignal
        self.logEnviron = logEnviron
        self.runtime_timeout = runtime_timeout
        self._master_workdir = kwargs.get("workdir")
        super().__init__(**kwargs)
        if command is None:
            config.error("MasterShellCommand: the command must be given")
        self.process: Any = None

    def _argv(self) -> list[str]:
        if isinstance(self.command, str):
            return ["/bin/sh", "-c", self.command]
        return [str(w) for w in flatten(self.command, (list, tuple))]

    def _environment(self) -> dict[str, str]:
        if self.env is None:
            return dict(os.environ)
        env = {}
        for key, value in self.env.items():
            if isinstance(value, list | tuple):
                value = os.pathsep.join(str(v) for v in value)
            env[key] = _VAR.sub(lambda m: os.environ.get(m.group(1), ""), str(value))
        return env

    async def run(self) -> int:
        stdio = await self.addLog("stdio")
        argv = self._argv()
        env = self._environment()
        path = self._master_workdir or os.getcwd()
        await stdio.addHeader(f"Running {argv!r} in {path}\n")
        if self.logEnviron:
            await stdio.addHeader("".join(f" {k}={v}\n" for k, v in sorted(env.items())))
        proc = _LocalProcess(stdio)
        reactor = self.master.reactor
        self.process = reactor.spawnProcess(
            proc, argv[0], argv, env, path, usePTY=bool(self.usePTY)
        )
        timer = None
        if self.runtime_timeout:
            timer = reactor.callLater(self.runtime_timeout, self._kill, "KILL")
        try:
            rc = await proc.ended
        finally:
            if timer is not None and timer.active():
                timer.cancel()
            self.process = None
        await defer.DeferredList(proc.writes, consumeErrors=True)
        await stdio.addHeader(f"exit status {rc}\n")
        return SUCCESS if rc == 0 else FAILURE

    def _kill(self, signal: str) -> None:
        if self.process is not None:
            try:
                self.process.signalProcess(signal)
            except error.ProcessExitedAlready:
                pass

    async def _interrupt(self, reason: Any) -> None:
        await super()._interrupt(reason)
        self._kill(self.interruptSignal)
