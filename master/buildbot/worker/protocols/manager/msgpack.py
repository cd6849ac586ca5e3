"""The WebSocket listeners of the ``msgpack_experimental_v7`` transport.

Each listening port serves the workers registered on it. A worker opens a WebSocket
with HTTP Basic credentials; once they check out, the registration's factory is
called with the protocol and the user name (it returns the master's connection
object). Every frame is a binary message holding one msgpack map: a request
``{op, seq_number, ...}`` or a response ``{op: "response", seq_number, result}``
(plus ``is_exception: True`` when ``result`` is an error text).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import msgpack
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from twisted.internet import defer, error
from twisted.python import failure, log

from buildbot.util import listeners
from buildbot.util.listeners import Registration  # noqa: F401 (public)

#: (protocol, username) -> the connection object (or a Deferred of it)
ConnectionFactory = Callable[[Any, str], Any]

UNAUTHORIZED = 401


class RemoteWorkerError(Exception):
    """The worker answered a request with an exception response."""


def decode_basic_authorization(value: str) -> tuple[str, str]:
    """(username, password) of an HTTP Basic ``Authorization`` header; ValueError if
    the header is not one."""
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("not a Basic authorization")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ValueError(f"undecodable credentials: {e}") from e
    if ":" not in decoded:
        raise ValueError("the credentials have no colon")
    username, password = decoded.split(":", 1)
    return username, password


def pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def unpack(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False)


class MsgpackServerProtocol(WebSocketServerProtocol):
    """One worker's WebSocket: authentication, request numbering and responses.

    `connection` (set by the registration's factory) serves the worker's requests:
    it has `accepting_requests` (false until the worker is known), `requestHandler(op)`
    (a callable taking the message, or None) and `connectionLost()`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.username: str | None = None
        self.connection: Any = None
        self.seq_number = 0
        self._waiting: dict[int, defer.Deferred[Any]] = {}
        self._closed = False

    # handshake

    def onConnect(self, request: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._authenticate(request.headers))

    async def _authenticate(self, headers: dict[str, str]) -> None:
        header = headers.get("authorization")
        if header is None:
            raise ConnectionDeny(UNAUTHORIZED, "Unauthorized")
        try:
            username, password = decode_basic_authorization(header)
        except ValueError:
            raise ConnectionDeny(ConnectionDeny.BAD_REQUEST, "Bad request") from None
        if not await self.factory.dispatcher.checkPassword(username, password):
            raise ConnectionDeny(UNAUTHORIZED, "Unauthorized")
        self.username = username

    def onOpen(self) -> None:
        self.factory.dispatcher.connected(self)

    # requests from the master

    def get_message_result(self, message: dict[str, Any]) -> defer.Deferred[Any]:
        """Send a request; fires with the worker's result (RemoteWorkerError for an
        exception response, ConnectionLost if the socket closes first)."""
        if self._closed:
            return defer.fail(error.ConnectionLost("connection lost"))
        seq = self.seq_number
        message = dict(message, seq_number=seq)
        try:
            payload = pack(message)
        except Exception:
            return defer.fail()
        self.seq_number += 1
        d: defer.Deferred[Any] = defer.Deferred()
        self._waiting[seq] = d
        self.sendMessage(payload, isBinary=True)
        return d

    # messages from the worker

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if not isBinary:
            log.msg(f"msgpack: text frame from worker {self.username!r} ignored")
            return
        try:
            message = unpack(payload)
        except Exception as e:
            log.msg(f"msgpack: undecodable frame from worker {self.username!r}: {e!r}")
            return
        if not isinstance(message, dict) or "op" not in message or "seq_number" not in message:
            log.msg(f"msgpack: invalid message from worker {self.username!r}: {message!r}")
            return
        if message["op"] == "response":
            self._response(message)
            return
        seq = message["seq_number"]
        d = defer.maybeDeferred(self._serve, message)
        d.addCallbacks(
            lambda result: self._respond(seq, result, False),
            lambda f: self._respond(seq, _error_text(f), True),
        )
        d.addErrback(log.err, f"msgpack: while answering worker {self.username!r}")

    def _serve(self, message: dict[str, Any]) -> Any:
        conn = self.connection
        if conn is None or not conn.accepting_requests:
            raise RemoteWorkerError("Worker not authenticated.")
        handler = conn.requestHandler(message["op"])
        if handler is None:
            raise RemoteWorkerError(f"Command {message['op']} does not exist.")
        return handler(message)

    def _respond(self, seq: Any, result: Any, is_exception: bool) -> None:
        if self._closed:
            return
        answer: dict[str, Any] = {"op": "response", "seq_number": seq, "result": result}
        if is_exception:
            answer["is_exception"] = True
        self.sendMessage(pack(answer), isBinary=True)

    def _response(self, message: dict[str, Any]) -> None:
        d = self._waiting.pop(message["seq_number"], None)
        if d is None:
            log.msg(f"msgpack: response to no request from {self.username!r}: {message!r}")
        elif message.get("is_exception"):
            d.errback(RemoteWorkerError(message.get("result")))
        else:
            d.callback(message.get("result"))

    # the end

    def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
        self._closed = True
        waiting, self._waiting = self._waiting, {}
        for d in waiting.values():
            d.errback(error.ConnectionLost("connection lost"))
        conn, self.connection = self.connection, None
        if conn is not None:
            conn.connectionLost()

    def abort(self) -> None:
        """Drop the socket at once (a hung worker would never finish a clean close)."""
        if self.transport is not None:
            self.dropConnection(abort=True)


def _error_text(f: failure.Failure) -> str:
    return str(f.value)


class Dispatcher(listeners.PortDispatcher):
    """One listening port and the users registered on it."""

    label = "msgpack"

    def __init__(self, portstr: str) -> None:
        super().__init__(portstr)
        self.factory = WebSocketServerFactory()
        self.factory.protocol = MsgpackServerProtocol
        self.factory.dispatcher = self

    async def checkPassword(self, username: str, password: str) -> bool:
        entry = self.users.get(username)
        if entry is None:
            log.msg(f"msgpack: connection refused for unknown user {username!r}")
            return False
        try:
            expected = await listeners.render_password(entry[0], self.master)
        except Exception:
            log.err(None, f"msgpack: while rendering the password of {username!r}")
            return False
        if expected != password:
            log.msg(f"msgpack: connection refused for {username!r}: bad password")
            return False
        return True

    def connected(self, protocol: MsgpackServerProtocol) -> None:
        username = protocol.username
        entry = self.users.get(username or "")
        if entry is None:  # unregistered during the handshake
            protocol.abort()
            return
        d = defer.maybeDeferred(entry[1], protocol, username)

        def refused(f: failure.Failure) -> None:
            log.msg(f"msgpack: worker {username!r} not attached: {f.getErrorMessage()}")
            protocol.abort()

        d.addErrback(refused)


class MsgManager(listeners.ListenerManager):
    """Listens on the ports that registrations name; one Dispatcher per port.

    `register(portstr, username, password, factory)`: `factory(protocol, username)`
    makes the connection object once the credentials check out.
    """

    label = "msgpack"
    dispatcher_class = Dispatcher
