"""What every worker command shares: argument checks, status updates, elapsed, interrupt."""

from __future__ import annotations

import os
from typing import Any, Protocol

from twisted.internet import defer, interfaces

COMMAND_VERSION = "3.3"


class CommandHost(Protocol):
    """What a command needs from the builder that runs it."""

    builddir: str  # absolute builder directory on this worker
    worker_basedir: str
    reactor: Any
    unicode_encoding: str

    def sendUpdate(self, key: str, value: Any) -> None: ...


class Command:
    """One remote command; subclasses implement `start` (may return a Deferred/coroutine)."""

    name = ""
    requiredArgs: tuple[str, ...] = ()

    def __init__(self, host: CommandHost, command_id: str, args: dict[str, Any]) -> None:
        self.host = host
        self.command_id = command_id
        self.args = args
        for arg in self.requiredArgs:
            if arg not in args:
                raise ValueError(f"{self.name}: missing required argument '{arg}'")
        self.running = False
        self.interrupted = False
        self.setup(args)

    @property
    def clock(self) -> interfaces.IReactorTime:
        return self.host.reactor

    def setup(self, args: dict[str, Any]) -> None:
        pass

    def start(self) -> Any:
        raise NotImplementedError

    def interrupt(self) -> None:
        pass

    def sendStatus(self, key: str, value: Any) -> None:
        self.host.sendUpdate(key, value)

    def doStart(self) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._run())

    async def _run(self) -> None:
        self.running = True
        started = self.clock.seconds()
        try:
            await defer.maybeDeferred(self.start)
        finally:
            was_interrupted, self.running = self.interrupted, False
        if not was_interrupted:
            self.sendStatus("elapsed", self.clock.seconds() - started)

    def doInterrupt(self) -> None:
        if not self.running:
            return
        self.interrupted = True
        self.running = False
        self.interrupt()

    def abspath(self, *parts: str | None) -> str:
        """A path under the builder directory, with `~` expanded."""
        path = os.path.join(self.host.builddir, *[os.path.expanduser(p) for p in parts if p])
        return os.path.normpath(path)
