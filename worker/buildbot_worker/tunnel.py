"""An HTTP CONNECT tunnel endpoint (for `proxy_connection_string`)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, error, interfaces, protocol
from zope.interface import implementer

MAX_RESPONSE_HEAD = 16 * 1024


@implementer(interfaces.IStreamClientEndpoint)
class HTTPTunnelEndpoint:
    """Connects to `host:port` through the HTTP proxy reached by `proxy_endpoint`."""

    def __init__(self, host: str, port: int, proxy_endpoint: Any) -> None:
        self.host, self.port, self.proxy_endpoint = host, port, proxy_endpoint

    def connect(self, factory: protocol.Factory) -> defer.Deferred[Any]:
        ready: defer.Deferred[Any] = defer.Deferred()
        tunnel = _TunnelFactory(f"{self.host}:{self.port}", factory, ready)
        self.proxy_endpoint.connect(tunnel).addErrback(
            lambda f: None if ready.called else ready.errback(f)
        )
        return ready


class _TunnelFactory(protocol.ClientFactory):
    def __init__(self, target: str, factory: protocol.Factory, ready: defer.Deferred) -> None:
        self.target, self.factory, self.ready = target, factory, ready

    def buildProtocol(self, addr: Any) -> _TunnelProtocol:
        return _TunnelProtocol(self, addr)


class _TunnelProtocol(protocol.Protocol):
    def __init__(self, tunnel: _TunnelFactory, addr: Any) -> None:
        self.tunnel, self.addr = tunnel, addr
        self.buffer = b""
        self.wrapped: protocol.Protocol | None = None

    def connectionMade(self) -> None:
        target = self.tunnel.target.encode("ascii")
        self.transport.write(b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")

    def dataReceived(self, data: bytes) -> None:
        if self.wrapped is not None:
            self.wrapped.dataReceived(data)
            return
        self.buffer += data
        head, sep, rest = self.buffer.partition(b"\r\n\r\n")
        if not sep:
            if len(self.buffer) > MAX_RESPONSE_HEAD:
                self._fail("proxy response too long")
            return
        status_line = head.split(b"\r\n", 1)[0]
        status = status_line.split()
        if len(status) < 2 or status[1] != b"200":
            self._fail(f"proxy refused the tunnel: {status_line!r}")
            return
        self.wrapped = self.tunnel.factory.buildProtocol(self.addr)
        self.wrapped.makeConnection(self.transport)
        self.tunnel.ready.callback(self.wrapped)
        if rest:
            self.wrapped.dataReceived(rest)

    def _fail(self, why: str) -> None:
        self.transport.loseConnection()
        if not self.tunnel.ready.called:
            self.tunnel.ready.errback(error.ConnectError(string=why))

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        if self.wrapped is not None:
            self.wrapped.connectionLost(reason)
        elif not self.tunnel.ready.called:
            self.tunnel.ready.errback(reason)
