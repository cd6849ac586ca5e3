from twisted.internet import defer, endpoints, error, protocol, reactor
from twisted.trial import unittest

from buildbot_worker.tunnel import HTTPTunnelEndpoint


class _Relay(protocol.Protocol):
    peer = None

    def dataReceived(self, data):
        self.peer.transport.write(data)

    def connectionLost(self, reason=None):
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.loseConnection()


class FakeProxy(protocol.Protocol):
    """Answers CONNECT with `factory.status`, then relays to the requested address."""

    def connectionMade(self):
        self.head = b""
        self.relay = None

    def dataReceived(self, data):
        if self.relay is not None:
            self.relay.transport.write(data)
            return
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        self.factory.requests.append(self.head)
        if self.factory.status != 200:
            self.transport.write(b"HTTP/1.1 %d Nope\r\n\r\n" % self.factory.status)
            self.transport.loseConnection()
            return
        host, port = self.head.split()[1].decode().rsplit(":", 1)
        self.transport.pauseProducing()
        ep = endpoints.TCP4ClientEndpoint(reactor, host, int(port))
        ep.connect(protocol.Factory.forProtocol(_Relay)).addCallback(self._connected)

    def _connected(self, relay):
        self.relay, relay.peer = relay, self
        self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.transport.resumeProducing()

    def connectionLost(self, reason=None):
        if self.relay is not None:
            self.relay.transport.loseConnection()


class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)


class Collect(protocol.Protocol):
    def connectionMade(self):
        self.received = b""
        self.got = defer.Deferred()
        self.transport.write(b"ping")

    def dataReceived(self, data):
        self.received += data
        if self.received == b"ping":
            self.got.callback(data)


class TestHTTPTunnel(unittest.TestCase):
    timeout = 20

    def setUp(self):
        self.target = reactor.listenTCP(
            0, protocol.Factory.forProtocol(Echo), interface="127.0.0.1"
        )
        self.addCleanup(self.target.stopListening)
        self.proxy_factory = protocol.Factory.forProtocol(FakeProxy)
        self.proxy_factory.requests, self.proxy_factory.status = [], 200
        self.proxy = reactor.listenTCP(0, self.proxy_factory, interface="127.0.0.1")
        self.addCleanup(self.proxy.stopListening)
        proxy_ep = endpoints.clientFromString(
            reactor, f"tcp:host=127.0.0.1:port={self.proxy.getHost().port}"
        )
        self.endpoint = HTTPTunnelEndpoint("127.0.0.1", self.target.getHost().port, proxy_ep)

    async def test_tunnel_carries_the_connection(self):
        proto = await self.endpoint.connect(protocol.Factory.forProtocol(Collect))
        await proto.got
        port = self.target.getHost().port
        self.assertEqual(
            self.proxy_factory.requests,
            [b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, port)],
        )
        proto.transport.loseConnection()

    async def test_refused_tunnel(self):
        self.proxy_factory.status = 407
        with self.assertRaises(error.ConnectError) as cm:
            await self.endpoint.connect(protocol.Factory.forProtocol(Collect))
        self.assertIn("407", str(cm.exception))
