"""The Perspective Broker transport: a worker's connection, and the login listener."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, error
from twisted.python import log
from twisted.spread import pb

from buildbot.util import service
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

    def attached(self, mind: Any) -> None:
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

    def _builder(self, builderName: str) -> Any:
        ref = self.builders.get(builderName)
        if ref is None:
            raise KeyError(f"worker {self.name!r} does not serve builder {builderName!r}")
        return ref

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

        def gone(f: Any) -> None:
            # the worker stops right away, so losing the connection is success
            if f.check(*_CONNECTION_GONE):
                return None
            return f

        return d.addCallbacks(lambda _: None, gone)


_MISSING = object()


def _unless_missing(d: defer.Deferred[Any]) -> defer.Deferred[Any]:
    """The call's result, or _MISSING when the worker has no such method."""
    return d.addErrback(lambda f: _MISSING if _is_no_such_method(f) else f)


class Listener(service.AsyncMultiService):
    """Registers each configured worker with the PB manager; logins come to the
    worker manager, which decides about duplicates and attaches the worker."""

    # unnamed: the worker manager removes named children the config does not list
    name = None

    def __init__(self) -> None:
        super().__init__()
        # workername -> (portstr, password, registration)
        self._registrations: dict[str, tuple[str, Any, Any]] = {}

    async def updateRegistration(self, workername: str, password: Any, portstr: Any) -> None:
        """Have `workername` registered on `portstr` (None: not at all) with `password`."""
        current = self._registrations.get(workername)
        if current is not None:
            if portstr is not None and current[0] == portstr and current[1] == password:
                return
            del self._registrations[workername]
            await current[2].unregister()
        if portstr is None:
            return
        registration = self.master.pbmanager.register(
            portstr, workername, password, self._getPerspective
        )
        self._registrations[workername] = (portstr, password, registration)

    def registeredNames(self) -> list[str]:
        return list(self._registrations)

    def getRegistration(self, workername: str) -> Any:
        entry = self._registrations.get(workername)
        return entry[2] if entry is not None else None

    async def _getPerspective(self, mind: Any, workername: str) -> Connection:
        workers = self.master.workers
        worker = workers.getWorkerByName(workername)
        if worker is None:
            raise RuntimeError(f"no worker named {workername!r} is configured")
        conn = Connection(self.master, worker, mind)
        await workers.newConnection(conn, workername)
        conn.attached(mind)
        return conn

    async def stopService(self) -> None:  # type: ignore[override]
        for workername in list(self._registrations):
            await self.updateRegistration(workername, None, None)
        await super().stopService()
