"""What the master needs from a connection to a worker, whatever carries it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.python import log

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
