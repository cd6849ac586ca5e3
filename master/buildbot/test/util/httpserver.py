"""A small real HTTP(S) server on 127.0.0.1 for tests of HTTP clients.

It records every request it receives and answers from a queue of canned
replies (or, when the queue is empty, with a JSON description of the request).
Paths listed in `hang_paths` are never answered. `stop()` closes the listening
port and every connection, and waits until they are all gone, so that trial
finds a clean reactor.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet import defer
from twisted.web import resource, server

from buildbot.util.trackingsite import TrackingSite


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
        }


@dataclass
class Reply:
    code: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _RecordingResource(resource.Resource):
    isLeaf = True

    def __init__(self, owner: HTTPTestServer) -> None:
        super().__init__()
        self._owner = owner

    def render(self, request: server.Request) -> Any:
        owner = self._owner
        split = urlsplit(request.uri.decode("latin-1"))
        headers: dict[str, str] = {}
        for name, values in request.requestHeaders.getAllRawHeaders():
            headers[name.decode("latin-1").lower()] = ", ".join(v.decode("latin-1") for v in values)
        request.content.seek(0)
        record = RecordedRequest(
            method=request.method.decode("ascii"),
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            body=request.content.read(),
        )
        owner.requests.append(record)
        if split.path in owner.hang_paths:
            return server.NOT_DONE_YET
        if owner.replies:
            reply = owner.replies.popleft()
        else:
            reply = Reply(
                body=json.dumps(record.as_json()).encode(),
                headers={"Content-Type": "application/json"},
            )
        request.setResponseCode(reply.code)
        for name, value in reply.headers.items():
            request.setHeader(name, value)
        return reply.body


class HTTPTestServer:
    """`await start()`, then use `url`; `await stop()` in the test's cleanup.

    `tls` is a Twisted server TLS context factory (e.g. `ssl.CertificateOptions`)
    to serve HTTPS instead of HTTP.
    """

    def __init__(self, reactor: Any = None, tls: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self._tls = tls
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply] = deque()
        self.hang_paths: set[str] = set()
        self._site = TrackingSite(_RecordingResource(self))
        self._site.displayTracebacks = False
        self._port: Any = None
        self.url = ""

    def start(self) -> None:
        if self._tls is None:
            self._port = self._reactor.listenTCP(0, self._site, interface="127.0.0.1")
            scheme = "http"
        else:
            self._port = self._reactor.listenSSL(0, self._site, self._tls, interface="127.0.0.1")
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._port.getHost().port}"

    def add_reply(
        self, code: int = 200, body: bytes | str = b"", headers: dict[str, str] | None = None
    ) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.replies.append(Reply(code, body, dict(headers or {})))

    @property
    def open_connections(self) -> int:
        return len(self._site.connections)

    def wait_idle(self) -> defer.Deferred[None]:
        """Fires once no client connection is open (clients closed them)."""
        return self._site.wait_idle()

    async def stop(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            await port.stopListening()
        for channel in list(self._site.connections):
            channel.transport.abortConnection()
        await self._site.wait_idle()
