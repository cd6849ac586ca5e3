"""The msgpack_experimental_v7 transport: msgpack maps over a WebSocket to the master.

Needs the optional `msgpack` extra (autobahn and msgpack); imported only when a worker
is configured with protocol='msgpack_experimental_v7'.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

try:
    import msgpack
    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(
        "protocol 'msgpack_experimental_v7' needs autobahn and msgpack: "
        "install them with `pip install 'buildbot-worker[msgpack]'`"
    ) from e

from twisted.internet import defer, error, interfaces
from twisted.python import log

from buildbot_worker.pbconnect import RetryingConnector
from buildbot_worker.protocols.msgpack_bot import MsgpackBot


class RemoteError(Exception):
    """The master answered one of our requests with an exception."""


def basic_auth_header(name: str, password: str, encoding: str = "utf-8") -> str:
    if ":" in name:
        raise ValueError("a worker name used with msgpack may not contain ':'")
    token = base64.b64encode(f"{name}:{password}".encode(encoding)).decode("ascii")
    return f"Basic {token}"


def pack(msg: dict[str, Any]) -> bytes:
    return msgpack.packb(msg, use_bin_type=True)


def unpack(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False)


class MasterConnection(WebSocketClientProtocol):
    """One WebSocket to the master: numbered requests both ways, one response each."""

    def onOpen(self) -> None:
        self.seq_number = 0
        self.pending: dict[int, defer.Deferred[Any]] = {}
        self._ready = True
        self.bot: MsgpackBot = self.factory.connector.bot
        self.bot.request = self.request
        self.factory.connector.opened(self)

    def request(self, op: str, **fields: Any) -> defer.Deferred[Any]:
        if not getattr(self, "_ready", False):
            return defer.fail(error.ConnectionLost("connection lost"))
        seq, self.seq_number = self.seq_number, self.seq_number + 1
        d: defer.Deferred[Any] = defer.Deferred()
        self.pending[seq] = d
        self._send({"op": op, "seq_number": seq, **fields})
        return d

    def _send(self, msg: dict[str, Any]) -> None:
        if getattr(self, "_ready", False):
            self.sendMessage(pack(msg), isBinary=True)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if not isBinary:
            return
        try:
            msg = unpack(payload)
        except Exception as e:
            log.msg(f"undecodable message from the master: {e}")
            return
        if not isinstance(msg, dict) or "op" not in msg or "seq_number" not in msg:
            log.msg(f"message from the master without op or seq_number: {msg!r:.200}")
            return
        if msg["op"] == "response":
            self._on_response(msg)
            return
        d = defer.maybeDeferred(self.bot.handle, msg["op"], msg)
        d.addCallbacks(
            lambda result: self._respond(msg, result, False),
            lambda f: self._respond(msg, _error_text(f), True),
        )
        d.addErrback(log.err, "while answering the master")

    def _on_response(self, msg: dict[str, Any]) -> None:
        d = self.pending.pop(msg["seq_number"], None)
        if d is None:
            log.msg(f"response to an unknown request {msg['seq_number']!r}")
        elif msg.get("is_exception"):
            d.errback(RemoteError(msg.get("result")))
        else:
            d.callback(msg.get("result"))

    def _respond(self, msg: dict[str, Any], result: Any, is_exception: bool) -> None:
        answer = {"op": "response", "seq_number": msg["seq_number"], "result": result}
        if is_exception:
            answer["is_exception"] = True
        self._send(answer)

    def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
        was_open = getattr(self, "_ready", False)
        self._ready = False
        if was_open:
            pending, self.pending = self.pending, {}
            for d in pending.values():
                d.errback(error.ConnectionLost("connection lost"))
        self.factory.connector.closed(self, was_open, reason)


def _error_text(f: Any) -> str:
    return str(f.value) if f.check(Exception) else f.getErrorMessage()


class MsgpackConnector(RetryingConnector):
    """Keeps one WebSocket connection to the master, reconnecting with PB's backoff."""

    def __init__(
        self,
        reactor: Any,
        endpoint: interfaces.IStreamClientEndpoint,
        url: str,
        name: str,
        password: str,
        bot: MsgpackBot,
        stop: Callable[[], None],
        max_retries: int | None = None,
        unicode_encoding: str = "utf-8",
        jitter: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(reactor, endpoint, stop, max_retries, jitter)
        self.url = url
        self.auth = basic_auth_header(name, password, unicode_encoding)
        self.bot = bot
        self.connection: MasterConnection | None = None
        self._transport_protocol: Any = None

    def make_factory(self) -> WebSocketClientFactory:
        factory = WebSocketClientFactory(self.url, headers={"Authorization": self.auth})
        factory.protocol = MasterConnection
        factory.connector = self
        factory.setProtocolOptions(autoPingInterval=None)
        return factory

    def stopService(self) -> Any:
        super().stopService()
        self._cancel_attempts()
        protocol = self._transport_protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.loseConnection()
        return None

    def _connect(self) -> None:
        self._retry = None
        if not self.running:
            return
        self._attempt = d = self.endpoint.connect(self.make_factory())
        d.addCallbacks(self._tcp_connected, self._tcp_failed)
        d.addErrback(log.err, "in the connection logic")

    def _tcp_connected(self, protocol: Any) -> None:
        self._attempt = None
        self._transport_protocol = protocol

    def _tcp_failed(self, f: Any) -> None:
        self._attempt = None
        if f.check(defer.CancelledError):
            return
        log.msg(f"Connection to the buildmaster failed: {f.getErrorMessage()}")
        self._schedule_retry()

    def opened(self, connection: MasterConnection) -> None:
        self.failures = 0
        self.connection = connection
        log.msg("Connected to the buildmaster (msgpack); worker is ready")

    def closed(self, connection: Any, was_open: bool, reason: Any) -> None:
        if connection is not self._transport_protocol:
            return
        self._transport_protocol = None
        if was_open:
            log.msg(f"Lost the connection to the buildmaster: {reason}")
            self.connection = None
            self.bot.lost_connection()
            self.failures = 0
            self._schedule_retry(failed=False)
            return
        if "[401]" in str(reason):
            log.msg("Worker login was unauthorized: check the worker name and password")
        else:
            log.msg(f"Connection to the buildmaster failed: {reason}")
        self._schedule_retry()


def master_url(
    host: str | None, port: Any, connection_string: str | None, path: str | None, tls: Any
) -> str:
    """The ws:// address the handshake names (the TCP connection uses the endpoint)."""
    if connection_string and (host is None or port is None):
        host, port = _host_port(connection_string)
    scheme = "wss" if tls else "ws"
    path = path or ""
    if path and not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{host}:{port}{path}"


def _host_port(connection_string: str) -> tuple[str, str]:
    fields: dict[str, str] = {}
    parts = connection_string.split(":")
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    positional = [p for p in parts[1:] if "=" not in p]
    host = fields.get("host") or (positional[0] if positional else "localhost")
    port = fields.get("port") or (positional[1] if len(positional) > 1 else "80")
    return host, port
