"""Live updates as server-sent events: `/sse`.

`GET /sse/listen[/<pattern...>]` (or just `/sse`) opens a `text/event-stream`
whose first event, `handshake`, carries the stream's uuid; each MQ event
matching the stream's patterns follows as an `event` event. `GET
/sse/add/<uuid>/<pattern...>` and `/sse/remove/<uuid>/<pattern...>` change an
open stream's patterns. Events are batched like those of `/ws` (see
`buildbot.www.ws.EventQueue`).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from twisted.internet import defer
from twisted.python import log
from twisted.web import resource, server

from buildbot.mq.base import RoutingKey
from buildbot.www import jsonenc
from buildbot.www.auth import send_error
from buildbot.www.ws import EventQueue, QueueFlow, Subscriptions, refusal

TEXT_PLAIN = b"text/plain; charset=utf-8"


class _Stream:
    """One open event stream."""

    def __init__(self, www: Any, request: server.Request) -> None:
        self.request = request
        self.flow = QueueFlow()
        self.queue = EventQueue(www.reactor, self._send_event)
        self.flow.attach(self.queue)
        self.subscriptions = Subscriptions(www.master.mq, self.queue)

    def write_event(self, event: str, data: str) -> None:
        self.request.write(f"event: {event}\ndata: {data}\n\n".encode())

    def _send_event(self, key: RoutingKey, message: Any) -> None:
        data = json.dumps({"key": list(key), "message": message}, default=jsonenc.default)
        self.write_event("event", data)

    def close(self) -> None:
        self.subscriptions.close()


class SseResource(resource.Resource):
    isLeaf = True

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www
        self.streams: dict[str, _Stream] = {}

    def render_GET(self, request: server.Request) -> Any:
        parts = [p.decode("utf-8", "replace") for p in request.postpath]
        while parts and not parts[-1]:
            parts.pop()
        command = parts[0] if parts else "listen"
        if command == "listen":
            d = defer.ensureDeferred(self._listen(request, "/".join(parts[1:])))
        elif command in ("add", "remove"):
            d = defer.ensureDeferred(self._change(request, command, parts[1:]))
        else:
            self._answer(request, 404, f"no such command '{command}'")
            return server.NOT_DONE_YET
        d.addErrback(self._failed, request)
        return server.NOT_DONE_YET

    @staticmethod
    def _answer(request: server.Request, code: int, text: str) -> None:
        if request._disconnected or request.finished:  # type: ignore[attr-defined]
            return
        request.setResponseCode(code)
        request.setHeader(b"content-type", TEXT_PLAIN)
        request.write(text.encode("utf-8"))
        request.finish()

    def _failed(self, f: Any, request: server.Request) -> None:
        log.err(f, "/sse: while answering")
        if not request.startedWriting:  # type: ignore[attr-defined]
            self._answer(request, 500, repr(f.value))

    async def _listen(self, request: server.Request, path: str) -> None:
        refused = await refusal(self.www, request)
        if request._disconnected:  # type: ignore[attr-defined]
            return
        if refused is not None:
            send_error(request, *refused)
            request.finish()
            return
        stream = _Stream(self.www, request)
        sid = str(uuid.uuid4())
        self.streams[sid] = stream

        def gone(_: Any) -> None:
            self.streams.pop(sid, None)
            stream.close()

        request.notifyFinish().addBoth(gone)
        request.setHeader(b"content-type", b"text/event-stream")
        request.setHeader(b"cache-control", b"no-cache")
        request.registerProducer(stream.flow, True)
        stream.write_event("handshake", sid)
        if path:
            await stream.subscriptions.start(path)

    async def _change(self, request: server.Request, command: str, parts: list[str]) -> None:
        if not parts:
            self._answer(request, 400, "need uuid")
            return
        stream = self.streams.get(parts[0])
        if stream is None:
            self._answer(request, 400, "unknown uuid")
            return
        path = "/".join(parts[1:])
        if not path:
            self._answer(request, 400, "need path")
            return
        if command == "add":
            await stream.subscriptions.start(path)
        elif not stream.subscriptions.stop(path):
            self._answer(request, 404, "consumer is not listening to this event")
            return
        self._answer(request, 200, "ok")


def make_sse_resource(www: Any) -> resource.Resource:
    return SseResource(www)
