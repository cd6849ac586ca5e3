"""Live updates over WebSocket (`/ws`), and the event batching shared with `/sse`.

A connection subscribes to MQ patterns (`builds/*/*`) with `startConsuming` and
receives each matching event as a `{"k": key, "m": message}` text frame.

Events are never written as they come: they wait in the connection's
`EventQueue`, flushed at most every `FLUSH_INTERVAL`. There a log's `append`
events collapse into the last one (its body is the log entity, so the last one
says all the UI needs: that there are new lines to fetch), and nothing is sent
while the client's transport is full. A client that stops reading keeps at most
`MAX_PENDING` events: beyond that the newest event of each routing key is kept,
then the oldest are dropped, and the master's memory does not grow with it.

autobahn is imported on the first `/ws` request only: most masters never serve
one, and starting a master must not load it.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, interfaces
from twisted.python import log
from twisted.web import resource, server
from zope.interface import implementer

from buildbot.mq.base import Filter, QueueRef, RoutingKey, filter_from_path, matchTuple
from buildbot.www import jsonenc
from buildbot.www.auth import AuthError, current_user, get_authz, send_error
from buildbot.www.authz import Forbidden

FLUSH_INTERVAL = 0.05
MAX_PENDING = 2000


def _collapses(key: RoutingKey) -> bool:
    """A log append (`logs/<id>/append`, `steps/<id>/logs/<slug>/append`): only the
    last one of a batch matters."""
    return len(key) >= 3 and key[-1] == "append" and key[-3] == "logs"


class EventQueue:
    """Events waiting to be sent to one client, flushed on `reactor` at most every
    `interval` seconds by calling `send(key, message)` for each, in order."""

    def __init__(
        self,
        reactor: Any,
        send: Callable[[RoutingKey, Any], None],
        interval: float = FLUSH_INTERVAL,
        limit: int = MAX_PENDING,
    ) -> None:
        self.reactor = reactor
        self.send = send
        self.interval = interval
        self.limit = limit
        # slot -> (key, message); a slot is a counter value, or the routing key for
        # events that replace the previous one of the same key
        self._pending: dict[Any, tuple[RoutingKey, Any]] = {}
        self._counter = 0
        self._call: Any = None
        self.paused = False
        self.closed = False
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def put(self, key: RoutingKey, message: Any) -> None:
        if self.closed:
            return
        if _collapses(key):
            slot: Any = key
            self._pending.pop(slot, None)  # the replacement goes to the end
        else:
            self._counter += 1
            slot = self._counter
        self._pending[slot] = (key, message)
        if len(self._pending) > self.limit:
            self._shrink()
        self._schedule()

    def _shrink(self) -> None:
        """Down to half the limit: first keep only the last event of each key, then
        drop the oldest. Halving makes the work once per limit/2 events."""
        merged: dict[Any, tuple[RoutingKey, Any]] = {}
        for key, message in self._pending.values():
            merged.pop(key, None)
            merged[key] = (key, message)
        excess = len(merged) - self.limit // 2
        if excess > 0:
            for slot in list(merged)[:excess]:
                del merged[slot]
        if self.dropped == 0:
            log.msg(f"live updates: a client is not reading; dropping events (limit {self.limit})")
        self.dropped += len(self._pending) - len(merged)
        self._pending = merged

    def discard(self, unwanted: Callable[[RoutingKey], bool]) -> None:
        """Forget the waiting events whose key is `unwanted`."""
        self._pending = {s: e for s, e in self._pending.items() if not unwanted(e[0])}

    def _schedule(self) -> None:
        if self._call is None and self._pending and not self.paused and not self.closed:
            self._call = self.reactor.callLater(self.interval, self.flush)

    def flush(self) -> None:
        """Send what waits now (stopping if the transport pauses us meanwhile)."""
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        items = list(self._pending.items())
        self._pending = {}
        for i, (_, (key, message)) in enumerate(items):
            if self.paused or self.closed:
                rest = dict(items[i:])
                rest.update(self._pending)
                self._pending = rest
                return
            try:
                self.send(key, message)
            except Exception:
                log.err(None, f"live updates: while sending {'/'.join(key)!r}")

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._schedule()

    def close(self) -> None:
        self.closed = True
        self._pending = {}
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None


@implementer(interfaces.IPushProducer)
class QueueFlow:
    """Registered as the producer of a client's transport: a full transport pauses
    the client's EventQueue, a drained one resumes it."""

    def __init__(self) -> None:
        self.queue: EventQueue | None = None
        self.paused = False

    def attach(self, queue: EventQueue) -> None:
        self.queue = queue
        if self.paused:
            queue.pause()

    def pauseProducing(self) -> None:
        self.paused = True
        if self.queue is not None:
            self.queue.pause()

    def resumeProducing(self) -> None:
        self.paused = False
        if self.queue is not None:
            self.queue.resume()

    def stopProducing(self) -> None:
        if self.queue is not None:
            self.queue.close()


class Subscriptions:
    """One client's MQ subscriptions, by their wire path (`builds/*/new`), all
    feeding the client's EventQueue."""

    def __init__(self, mq: Any, queue: EventQueue) -> None:
        self.mq = mq
        self.queue = queue
        self._refs: dict[str, QueueRef | None] = {}  # None: being made
        self.closed = False

    def __contains__(self, path: str) -> bool:
        return path in self._refs

    async def start(self, path: str) -> None:
        if path in self._refs or self.closed:
            return
        self._refs[path] = None
        try:
            qref = await self.mq.startConsuming(self.queue.put, filter_from_path(path))
        except BaseException:
            self._refs.pop(path, None)
            raise
        if self.closed or path not in self._refs:  # closed or stopped meanwhile
            qref.stopConsuming()
        else:
            self._refs[path] = qref

    def stop(self, path: str) -> bool:
        """False if `path` was not consumed. Waiting events only it wanted go too."""
        if path not in self._refs:
            return False
        qref = self._refs.pop(path)
        if qref is not None:
            qref.stopConsuming()
        gone = filter_from_path(path)
        left: list[Filter] = [filter_from_path(p) for p in self._refs]
        self.queue.discard(
            lambda key: matchTuple(key, gone) and not any(matchTuple(key, f) for f in left)
        )
        return True

    def close(self) -> None:
        self.closed = True
        refs, self._refs = self._refs, {}
        for qref in refs.values():
            if qref is not None:
                qref.stopConsuming()
        self.queue.close()


def encode(obj: Any) -> bytes:
    """Compact JSON, keys in insertion order, datetimes as epoch seconds."""
    return json.dumps(obj, separators=(",", ":"), default=jsonenc.default).encode("utf-8")


class _CommandError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WsSession:
    """The protocol of one `/ws` connection, apart from the WebSocket itself:
    `on_message` takes a text frame's payload, `send_text` writes one."""

    def __init__(self, www: Any, send_text: Callable[[bytes], None], flow: QueueFlow) -> None:
        self.www = www
        self.send_text = send_text
        self.queue = EventQueue(www.reactor, self._send_event)
        flow.attach(self.queue)
        self.subscriptions = Subscriptions(www.master.mq, self.queue)

    def _send_event(self, key: RoutingKey, message: Any) -> None:
        self.send_text(encode({"k": "/".join(key), "m": message}))

    def _reply(self, _id: Any, msg: str = "OK") -> None:
        self.send_text(encode({"msg": msg, "code": 200, "_id": _id}))

    def _error(self, _id: Any, code: int, error: str) -> None:
        self.send_text(encode({"error": error, "code": code, "_id": _id}))

    def close(self) -> None:
        self.subscriptions.close()

    async def on_message(self, payload: bytes | str) -> None:
        try:
            frame = json.loads(payload)
        except ValueError:
            # the reference drops the connection here; an answer is friendlier
            self._error(None, 400, "invalid JSON in websocket frame")
            return
        if not isinstance(frame, dict) or ("_id" not in frame and "type" not in frame):
            self._error(None, 400, "no '_id' or 'type' in websocket frame")
            return
        if "_id" not in frame:
            self._error(None, 400, "graphql subscriptions are not supported")
            return
        _id = frame.pop("_id")
        cmd = frame.pop("cmd", None)
        if cmd is None:
            self._error(None, 400, "no 'cmd' in websocket frame")
            return
        method = getattr(self, f"cmd_{cmd}", None) if isinstance(cmd, str) else None
        if method is None:
            self._error(_id, 404, f"no such command type '{cmd}'")
            return
        try:
            inspect.signature(method).bind(**frame)
        except TypeError as e:
            self._error(_id, 400, f"Invalid method argument '{e}'")
            return
        try:
            reply = await method(**frame)
        except _CommandError as e:
            self._error(_id, e.code, e.message)
        except Exception as e:
            log.err(None, f"/ws: while running {cmd!r}")
            self._error(_id, 500, f"Internal Error '{e}'")
        else:
            self._reply(_id, reply)

    @staticmethod
    def _check_path(path: Any) -> str:
        if not isinstance(path, str):
            raise _CommandError(400, f"invalid path format '{path}'")
        return path

    async def cmd_startConsuming(self, path: Any) -> str:
        await self.subscriptions.start(self._check_path(path))
        return "OK"

    async def cmd_stopConsuming(self, path: Any) -> str:
        if not self.subscriptions.stop(self._check_path(path)):
            raise _CommandError(400, f"path was not consumed '{path}'")
        return "OK"

    async def cmd_ping(self) -> str:
        return "pong"


# --- authorization, shared with /sse --------------------------------------------------


async def refusal(www: Any, request: server.Request) -> tuple[int, str] | None:
    """Why the request's user may not watch events (HTTP code, message), or None.
    Reading `masters` stands for "any access at all"."""
    try:
        user = await current_user(www, request)
        await get_authz(www).assertUserAllowed(("masters",), "get", {}, user)
    except (AuthError, Forbidden) as e:
        return getattr(e, "code", 403), e.message
    return None


# --- the WebSocket, with autobahn -------------------------------------------------------

_autobahn_classes: tuple[Any, Any, Any] | None = None


def _autobahn() -> tuple[Any, Any, Any]:
    """(WebSocketResource, factory class, protocol class), made on first use."""
    global _autobahn_classes
    if _autobahn_classes is not None:
        return _autobahn_classes
    from autobahn.twisted.resource import WebSocketResource
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class WsProtocol(WebSocketServerProtocol):  # type: ignore[misc]
        session: WsSession | None = None
        site: Any = None
        lost = False

        def connectionMade(self) -> None:
            super().connectionMade()
            self.flow = QueueFlow()
            # the HTTP channel was the transport's producer; the flow is now
            try:
                self.transport.unregisterProducer()
                self.transport.registerProducer(self.flow, True)
            except Exception:
                log.err(None, "/ws: no flow control on this transport")

        def onOpen(self) -> None:
            self.session = WsSession(self.factory.www, self._send_text, self.flow)

        def _send_text(self, data: bytes) -> None:
            self.sendMessage(data, isBinary=False)

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            if self.session is None:
                return
            d = defer.ensureDeferred(self.session.on_message(payload))
            d.addErrback(log.err, "/ws: while handling a frame")

        def connectionLost(self, reason: Any) -> None:
            try:
                super().connectionLost(reason)
            finally:
                self.lost = True
                if self.session is not None:
                    self.session.close()
                if self.site is not None:
                    self.site.untrack(self)

    class WsFactory(WebSocketServerFactory):  # type: ignore[misc]
        protocol = WsProtocol
        built: Any = None

        def buildProtocol(self, addr: Any) -> Any:
            self.built = super().buildProtocol(addr)
            return self.built

    _autobahn_classes = (WebSocketResource, WsFactory, WsProtocol)
    return _autobahn_classes


class WsResource(resource.Resource):
    """`/ws`: checks the user, then hands the connection to autobahn."""

    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www
        self._factory: Any = None
        self._ws: Any = None

    def _websocket(self) -> tuple[Any, Any]:
        if self._ws is None:
            ws_resource, factory_class, _ = _autobahn()
            self._factory = factory_class(reactor=self.www.reactor)
            self._factory.www = self.www
            self._ws = ws_resource(self._factory)
        interval = self.www.config.get("ws_ping_interval") or 0
        self._factory.setProtocolOptions(autoPingInterval=interval, autoPingTimeout=interval)
        return self._ws, self._factory

    def render(self, request: server.Request) -> Any:
        d = defer.ensureDeferred(refusal(self.www, request))
        d.addCallback(self._answer, request)
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    def _answer(self, refused: tuple[int, str] | None, request: server.Request) -> None:
        if request._disconnected:  # type: ignore[attr-defined]
            return
        if refused is not None:
            send_error(request, *refused)
            request.finish()
            return
        ws, factory = self._websocket()
        channel = request.channel
        factory.built = None
        body = ws.render(request)
        if body is not server.NOT_DONE_YET:  # autobahn's own refusal (e.g. over HTTP/2)
            request.write(body)
            request.finish()
            return
        # the connection is the protocol's now: the site must close it through it
        site = getattr(channel, "site", None)
        proto = factory.built
        if proto is not None and not proto.lost and hasattr(site, "track"):
            proto.site = site
            site.track(proto)
            site.untrack(channel)

    def _failed(self, f: Any, request: server.Request) -> None:
        log.err(f, "/ws: while opening a WebSocket")
        if not request._disconnected and not request.finished:  # type: ignore[attr-defined]
            send_error(request, 500, repr(f.value))
            request.finish()


def make_ws_resource(www: Any) -> resource.Resource:
    return WsResource(www)
