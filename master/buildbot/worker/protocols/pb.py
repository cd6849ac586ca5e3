"""The Perspective Broker transport: a worker's connection, and the login listener."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, error
from twisted.python import log
from twisted.spread import pb

from buildbot.worker.protocols import base

_CONNECTION_GONE = (pb.PBConnectionLost, error.ConnectionLost, error.ConnectionDone)


def _is_no_such_method(f: Any) -> bool:
    return bool(f.check("twisted.spread.flavors.NoSuchMethod"))


class Connection(base.Connection, pb.Avatar):
    """The master's side of one PB connection; also the worker's perspective."""

    def __init__(self, master: Any, worker: Any, mind: Any) -> None:
        base.Connection.__init__(self, worker.workername)
        self.master = master
        self.worker = worker
        self.mind = mind
        broker = getattr(mind, "broker", None)
        if broker is not None:
            # a connection lost during the login (before PB knows the avatar) counts too
            broker.notifyOnDisconnect(lambda: self.detached(mind))
            transport = getattr(broker, "transport", None)
            if transport is not None and hasattr(transport, "setTcpKeepAlive"):
                transport.setTcpKeepAlive(1)

    # life-cycle

    def attached(self, mind: Any = None) -> None:
        self.startKeepaliveTimer()

    def detached(self, mind: Any = None) -> None:
        self.stopKeepaliveTimer()
        self.notifyDisconnected()

    def loseConnection(self) -> None:
        self.stopKeepaliveTimer()
        transport = getattr(getattr(self.mind, "broker", None), "transport", None)
        if transport is None:
            return
        # abort: a hung worker would never finish a clean close
        abort = getattr(transport, "abortConnection", None)
        (abort or transport.loseConnection)()

    def _send_keepalive(self) -> None:
        d = self.remotePrint("keepalive")
        d.addErrback(lambda f: log.msg(f"keepalive to {self.name!r} failed: {f.value}"))

    # perspective methods (worker -> master)

    def perspective_keepalive(self) -> None:
        self.worker.messageReceivedFromWorker()

    def perspective_shutdown(self) -> None:
        self.worker.messageReceivedFromWorker()
        self.worker.shutdownRequested()

    # remote methods (master -> worker)

    def remotePrint(self, message: str) -> defer.Deferred[Any]:
        return self.mind.callRemote("print", message=message)

    def remoteGetWorkerInfo(self) -> defer.Deferred[dict[str, Any]]:
        return defer.ensureDeferred(self._get_worker_info())

    async def _get_worker_info(self) -> dict[str, Any]:
        info = await _unless_missing(self.mind.callRemote("getWorkerInfo"))
        if info is not _MISSING:
            self.info = dict(info or {})
            return self.info
        # an old worker: the legacy calls, each of which may be missing too
        await _unless_missing(
            self.remotePrint("buildbot-slave detected, failing back to deprecated buildslave API")
        )
        info = {}
        legacy = await _unless_missing(self.mind.callRemote("getSlaveInfo"))
        if legacy is not _MISSING:
            info.update(legacy or {})
            if "slave_commands" in info:
                info["worker_commands"] = info.pop("slave_commands")
        else:
            commands = await _unless_missing(self.mind.callRemote("getCommands"))
            info["worker_commands"] = dict(commands or {}) if commands is not _MISSING else {}
            version = await _unless_missing(self.mind.callRemote("getVersion"))
            if version is not _MISSING:
                info["version"] = version
        info.setdefault("worker_commands", {})
        self.info = info
        return info

    def remoteSetBuilderList(self, builders: list[tuple[str, str]]) -> defer.Deferred[Any]:
        d = self.mind.callRemote("setBuilderList", [tuple(b) for b in builders])

        def keep(refs: Any) -> Any:
            self.builders = dict(refs or {})
            return refs

        return d.addCallback(keep)

    def remoteStartBuild(self, builderName: str) -> defer.Deferred[Any]:
        return defer.maybeDeferred(lambda: self._builder(builderName).callRemote("startBuild"))

    def remoteStartCommand(
        self,
        remoteCommand: Any,
        builderName: str,
        commandId: str,
        commandName: str,
        args: dict[str, Any],
    ) -> defer.Deferred[Any]:
        return defer.maybeDeferred(
            lambda: self._builder(builderName).callRemote(
                "startCommand", remoteCommand, commandId, commandName, args
            )
        )

    def remoteInterruptCommand(
        self, builderName: str, commandId: str, why: str
    ) -> defer.Deferred[Any]:
        return defer.maybeDeferred(
            lambda: self._builder(builderName).callRemote("interruptCommand", commandId, why)
        )

    def remoteShutdown(self) -> defer.Deferred[None]:
        d = defer.maybeDeferred(self.mind.callRemote, "shutdown")
        return base.shutdownAnswer(d, _CONNECTION_GONE)


_MISSING = object()


def _unless_missing(d: defer.Deferred[Any]) -> defer.Deferred[Any]:
    """The call's result, or _MISSING when the worker has no such method."""
    return d.addErrback(lambda f: _MISSING if _is_no_such_method(f) else f)


class Listener(base.Listener):
    """Registers each configured worker with the master's PB manager."""

    async def _register(self, port: Any, workername: str, password: Any) -> Any:
        return self.master.pbmanager.register(port, workername, password, self._attach)

    def _makeConnection(self, worker: Any, peer: Any) -> Connection:
        return Connection(self.master, worker, peer)
