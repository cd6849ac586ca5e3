"""The in-process transport: the master calls the worker program's objects directly.

A `LocalWorker` runs the worker's `Bot` inside the master process. Both sides keep
the calling convention they use over PB: the master calls `remote*` methods on a
`Connection`, the worker calls `callRemote(name, ...)` on the objects it was handed
(a command's `update`/`complete`, a transfer's `write`/`read`...). `LocalReference`
turns such a call into a call of `remote_<name>` on the master's object.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.spread import pb

from buildbot.worker.protocols import base


class LocalReference:
    """What the worker holds instead of a PB reference to a master-side object."""

    def __init__(self, conn: Connection, obj: Any) -> None:
        self.conn = conn
        self.obj = obj

    def __repr__(self) -> str:
        return f"<LocalReference to {self.obj!r}>"

    def callRemote(self, name: str, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        if self.conn.disconnected:
            return defer.fail(pb.PBConnectionLost(f"the local worker {self.conn.name!r} is gone"))
        method = getattr(self.obj, f"remote_{name}", None)
        if method is None:
            return defer.fail(AttributeError(f"{self.obj!r} has no remote method {name!r}"))
        return defer.maybeDeferred(method, *args, **kwargs)


class Connection(base.Connection):
    """The master's side of the connection to an in-process worker `Bot`."""

    def __init__(self, name: str, bot: Any) -> None:
        super().__init__(name)
        self.bot = bot

    def _wrap(self, value: Any) -> Any:
        """`value` as the worker receives it: containers copied (PB copies them too),
        master objects the worker calls back replaced by `LocalReference`s."""
        if isinstance(value, pb.Referenceable):
            return LocalReference(self, value)
        if isinstance(value, dict):
            return {k: self._wrap(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._wrap(v) for v in value)
        return value

    def _call(self, obj: Any, name: str, *args: Any) -> defer.Deferred[Any]:
        if self.disconnected:
            return defer.fail(pb.PBConnectionLost(f"the local worker {self.name!r} is gone"))
        method = getattr(obj, f"remote_{name}")
        return defer.maybeDeferred(method, *(self._wrap(a) for a in args))

    # --- the life of the connection ------------------------------------------------

    def loseConnection(self) -> None:
        if self.disconnected:
            return
        # what a worker does when its master goes away: stop every command, silently
        self.bot.lost_connection()
        self.notifyDisconnected()

    # --- master -> worker ----------------------------------------------------------------

    def remotePrint(self, message: str) -> defer.Deferred[Any]:
        return self._call(self.bot, "print", message)

    def remoteGetWorkerInfo(self) -> defer.Deferred[dict[str, Any]]:
        def keep(info: Any) -> dict[str, Any]:
            self.info = dict(info or {})
            return self.info

        return self._call(self.bot, "getWorkerInfo").addCallback(keep)

    def remoteSetBuilderList(self, builders: list[tuple[str, str]]) -> defer.Deferred[Any]:
        def keep(wfbs: Any) -> Any:
            self.builders = dict(wfbs or {})
            return wfbs

        wanted = [tuple(b) for b in builders]
        return self._call(self.bot, "setBuilderList", wanted).addCallback(keep)

    def remoteStartBuild(self, builderName: str) -> defer.Deferred[Any]:
        return defer.maybeDeferred(self._builder, builderName).addCallback(
            lambda wfb: self._call(wfb, "startBuild")
        )

    def remoteStartCommand(
        self,
        remoteCommand: Any,
        builderName: str,
        commandId: str,
        commandName: str,
        args: dict[str, Any],
    ) -> defer.Deferred[Any]:
        return defer.maybeDeferred(self._builder, builderName).addCallback(
            lambda wfb: self._call(wfb, "startCommand", remoteCommand, commandId, commandName, args)
        )

    def remoteInterruptCommand(
        self, builderName: str, commandId: str, why: str
    ) -> defer.Deferred[Any]:
        return defer.maybeDeferred(self._builder, builderName).addCallback(
            lambda wfb: self._call(wfb, "interruptCommand", commandId, why)
        )

    def remoteShutdown(self) -> defer.Deferred[None]:
        return self._call(self.bot, "shutdown").addCallback(lambda _: None)
