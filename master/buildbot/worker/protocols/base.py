"""What the master needs from a connection to a worker, whatever carries it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.python import log

from buildbot.util import service

#: seconds between two keepalives the master sends a connected worker
KEEPALIVE_INTERVAL = 3600


class Subscription:
    """What `notifyOnDisconnect` returns: `unsubscribe()` forgets the callback."""

    def __init__(self, subscribers: list[Subscription], callback: Callable[[], Any]) -> None:
        self._subscribers = subscribers
        self.callback = callback

    def unsubscribe(self) -> None:
        self._subscribers[:] = [s for s in self._subscribers if s is not self]


class Connection:
    """One live connection to a worker program.

    `info` is what the worker reported about itself (`getWorkerInfo`), `builders`
    the builder names it accepted. Every `remote*` method returns a Deferred.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.info: dict[str, Any] = {}
        self.builders: dict[str, Any] = {}
        self._disconnect_subscribers: list[Subscription] = []
        self.disconnected = False
        self._keepalive: task.LoopingCall | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} to {self.name!r}>"

    def notifyOnDisconnect(self, callback: Callable[[], Any]) -> Subscription:
        """Call `callback()` once, when the connection is gone (at once if it is)."""
        sub = Subscription(self._disconnect_subscribers, callback)
        self._disconnect_subscribers.append(sub)
        return sub

    def notifyDisconnected(self) -> None:
        """Called by the transport when the connection is gone; runs each callback once."""
        if self.disconnected:
            return
        self.disconnected = True
        subscribers, self._disconnect_subscribers[:] = list(self._disconnect_subscribers), []
        for sub in subscribers:
            try:
                result = sub.callback()
                if isinstance(result, defer.Deferred):
                    result.addErrback(log.err, f"after the disconnection of {self.name!r}")
            except Exception:
                log.err(None, f"after the disconnection of {self.name!r}")

    def waitForDisconnect(self) -> defer.Deferred[None]:
        """A Deferred that fires once the connection is gone."""
        d: defer.Deferred[None] = defer.Deferred()
        self.notifyOnDisconnect(lambda: d.called or d.callback(None))
        return d

    def startKeepaliveTimer(self) -> None:
        """Send `_send_keepalive` every KEEPALIVE_INTERVAL seconds, on the master's clock."""
        self.stopKeepaliveTimer()
        loop = task.LoopingCall(self._send_keepalive)
        loop.clock = self.master.reactor
        self._keepalive = loop
        loop.start(KEEPALIVE_INTERVAL, now=False).addErrback(log.err, "keepalive loop")

    def stopKeepaliveTimer(self) -> None:
        if self._keepalive is not None and self._keepalive.running:
            self._keepalive.stop()
        self._keepalive = None

    def _send_keepalive(self) -> None:
        """One keepalive, in the transport's own way; failures are only logged."""
        raise NotImplementedError

    def commandVersion(self, command: str) -> str | None:
        """The version of `command` the worker announced, None if it has not."""
        commands = self.info.get("worker_commands") or {}
        return commands.get(command)

    def _builder(self, builderName: str) -> Any:
        """The worker's object for `builderName`, as the last builder list returned it."""
        ref = self.builders.get(builderName)
        if ref is None:
            raise KeyError(f"worker {self.name!r} does not serve builder {builderName!r}")
        return ref

    # to be provided by each transport

    def loseConnection(self) -> None:
        raise NotImplementedError

    def remotePrint(self, message: str) -> defer.Deferred[Any]:
        raise NotImplementedError

    def remoteGetWorkerInfo(self) -> defer.Deferred[dict[str, Any]]:
        raise NotImplementedError

    def remoteSetBuilderList(self, builders: list[tuple[str, str]]) -> defer.Deferred[Any]:
        raise NotImplementedError

    def remoteStartBuild(self, builderName: str) -> defer.Deferred[Any]:
        raise NotImplementedError

    def remoteStartCommand(
        self,
        remoteCommand: Any,
        builderName: str,
        commandId: str,
        commandName: str,
        args: dict[str, Any],
    ) -> defer.Deferred[Any]:
        raise NotImplementedError

    def remoteInterruptCommand(
        self, builderName: str, commandId: str, why: str
    ) -> defer.Deferred[Any]:
        raise NotImplementedError

    def remoteShutdown(self) -> defer.Deferred[Any]:
        raise NotImplementedError


def shutdownAnswer(d: defer.Deferred[Any], gone: tuple[type, ...]) -> defer.Deferred[None]:
    """`d`, the answer to a shutdown request, reduced to None. The worker stops
    right away, so a connection lost with one of the `gone` errors is success too."""

    def lost(f: Any) -> Any:
        if f.check(*gone):
            return None
        return f

    return d.addCallbacks(lambda _: None, lost)


class Listener(service.AsyncMultiService):
    """Registers each configured worker on a transport's port; a worker that logs
    in goes to the worker manager, which settles duplicates and attaches it.

    A transport provides `_register` (how to register on its port) and
    `_makeConnection` (the Connection for a login)."""

    # unnamed: the worker manager removes named children the config does not list
    name = None

    def __init__(self) -> None:
        super().__init__()
        # workername -> (port, password, registration)
        self._registrations: dict[str, tuple[Any, Any, Any]] = {}

    async def updateRegistration(self, workername: str, password: Any, port: Any) -> None:
        """Have `workername` registered on `port` (None: not at all) with `password`."""
        current = self._registrations.get(workername)
        if current is not None:
            if port is not None and current[0] == port and current[1] == password:
                return
            del self._registrations[workername]
            await current[2].unregister()
        if port is None:
            return
        registration = await self._register(port, workername, password)
        self._registrations[workername] = (port, password, registration)

    def registeredNames(self) -> list[str]:
        return list(self._registrations)

    def getRegistration(self, workername: str) -> Any:
        entry = self._registrations.get(workername)
        return entry[2] if entry is not None else None

    async def _register(self, port: Any, workername: str, password: Any) -> Any:
        """Register `workername` on `port`, logins going to `_attach`; returns the
        registration (something with `unregister()`)."""
        raise NotImplementedError

    def _makeConnection(self, worker: Any, peer: Any) -> Connection:
        """The Connection for `worker`, logged in from `peer` (PB mind, msgpack protocol)."""
        raise NotImplementedError

    async def _attach(self, peer: Any, workername: str) -> Connection:
        workers = self.master.workers
        worker = workers.getWorkerByName(workername)
        if worker is None:
            raise RuntimeError(f"no worker named {workername!r} is configured")
        conn = self._makeConnection(worker, peer)
        await workers.newConnection(conn, workername)
        conn.attached()  # type: ignore[attr-defined]
        return conn

    async def stopService(self) -> None:  # type: ignore[override]
        for workername in list(self._registrations):
            await self.updateRegistration(workername, None, None)
        await super().stopService()
