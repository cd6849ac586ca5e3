"""A Twisted Web site that knows its open connections, to wait for them to end or to
close them (a web server that stops, a test server that must leave nothing open)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.web import http, server


class TrackedChannel(http.HTTPChannel):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.factory.track(self)

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.factory.untrack(self)


class TrackingSite(server.Site):
    protocol = TrackedChannel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[Any] = set()
        self._idle_waiters: list[defer.Deferred[None]] = []

    def track(self, channel: Any) -> None:
        self.connections.add(channel)

    def untrack(self, channel: Any) -> None:
        self.connections.discard(channel)
        if not self.connections:
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    def wait_idle(self) -> defer.Deferred[None]:
        """Fires once no connection is open."""
        if not self.connections:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._idle_waiters.append(d)
        return d

    def close_connections(self) -> defer.Deferred[None]:
        """Abort every open connection; fires once all are gone."""
        d = self.wait_idle()
        for channel in list(self.connections):
            channel.transport.abortConnection()
        return d
