"""/sse: the commands on a clock with in-memory requests, then a real stream over HTTP
read with treq."""

from __future__ import annotations

from typing import Any

import treq
from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool, ResponseFailed
from twisted.web.test.requesthelper import DummyRequest

from buildbot.test.fake import fakemaster
from buildbot.test.unit.www.test_ws import with_live_children, www_config
from buildbot.util import eventual
from buildbot.www import service, sse, ws
from buildbot.www.authz import authz as authz_module
from buildbot.www.authz import endpointmatchers


class SseReader:
    """The events of an open /sse stream, parsed as they arrive."""

    def __init__(self) -> None:
        self.events: defer.DeferredQueue[tuple[str, str]] = defer.DeferredQueue()
        self._buffer = ""

    def feed(self, data: bytes) -> None:
        self._buffer += data.decode()
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            self.events.put((fields["event"], fields["data"]))


class FakeWWW:
    def __init__(self, master: Any, clock: Any) -> None:
        self.master = master
        self.reactor = clock
        self.config: dict[str, Any] = {}
        self.buildbotURL = "http://localhost:8010/"


class Request(DummyRequest):
    _disconnected = False
    startedWriting = False
    producer: Any = None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer

    def getCookie(self, name: bytes) -> None:
        return None

    def isSecure(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.startedWriting = True
        super().write(data)

    def text(self) -> str:
        return b"".join(self.written).decode()

    def events(self) -> list[tuple[str, str]]:
        out = []
        for block in self.text().split("\n\n")[:-1]:
            event, data = block.split("\n")
            out.append((event.removeprefix("event: "), data.removeprefix("data: ")))
        return out


class SseCommandTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.master = fakemaster.make_master(self, wantMq=True, reactor=self.clock)
        self.www = FakeWWW(self.master, self.clock)
        self.res = sse.make_sse_resource(self.www)

    async def get(self, path: str) -> Request:
        request = Request(path.encode().split(b"/") if path else [])
        self.res.render_GET(request)
        await eventual.flushEventualQueue()
        return request

    async def listen(self, path: str = "listen") -> tuple[Request, str]:
        request = await self.get(path)
        self.assertEqual(
            request.responseHeaders.getRawHeaders(b"content-type"), [b"text/event-stream"]
        )
        ((event, uuid),) = request.events()
        self.assertEqual(event, "handshake")
        request.written.clear()
        return request, uuid

    async def produce(self, *events: tuple[tuple[str, ...], Any]) -> None:
        for key, message in events:
            self.master.mq.produce(key, message)
        await eventual.flushEventualQueue()
        self.clock.advance(ws.FLUSH_INTERVAL)

    async def test_listen_with_a_pattern(self):
        stream, _ = await self.listen("listen/builds/*/new")
        await self.produce(
            (("builds", "6", "new"), {"buildid": 6}), (("builds", "6", "finished"), {})
        )
        self.assertEqual(
            stream.events(),
            [("event", '{"key": ["builds", "6", "new"], "message": {"buildid": 6}}')],
        )
        self.assertFalse(stream.finished)

    async def test_plain_sse_listens_to_nothing_until_added(self):
        for path in ("", "listen", "listen/"):
            stream, uuid = await self.listen(path)
            await self.produce((("builds", "1", "new"), {}))
            self.assertEqual(stream.events(), [])
            added = await self.get(f"add/{uuid}/builds/*/*")
            self.assertEqual((added.responseCode, added.text()), (200, "ok"))
            await self.produce((("builds", "1", "new"), {}))
            self.assertEqual(len(stream.events()), 1)
            stream.processingFailed(Exception("client gone"))

    async def test_remove(self):
        stream, uuid = await self.listen("listen/builds/*/*")
        removed = await self.get(f"remove/{uuid}/builds/*/*")
        self.assertEqual((removed.responseCode, removed.text()), (200, "ok"))
        await self.produce((("builds", "1", "new"), {}))
        self.assertEqual(stream.events(), [])
        again = await self.get(f"remove/{uuid}/builds/*/*")
        self.assertEqual(
            (again.responseCode, again.text()), (404, "consumer is not listening to this event")
        )

    async def test_errors(self):
        _, uuid = await self.listen()
        for path, code, text in [
            ("add", 400, "need uuid"),
            ("add/", 400, "need uuid"),
            ("remove/nope/builds/*/*", 400, "unknown uuid"),
            (f"add/{uuid}", 400, "need path"),
            ("frob", 404, "no such command 'frob'"),
        ]:
            request = await self.get(path)
            self.assertEqual((request.responseCode, request.text()), (code, text), path)
            self.assertTrue(request.finished)

    async def test_a_closed_stream_is_forgotten(self):
        stream, uuid = await self.listen("listen/builds/*/*")
        stream.processingFailed(Exception("client gone"))
        self.assertEqual(self.master.mq._consumers, [])
        self.assertEqual((await self.get(f"add/{uuid}/a/*")).responseCode, 400)

    async def test_logs_are_coalesced_and_a_full_transport_holds_events(self):
        stream, _ = await self.listen("listen/logs/*/*")
        stream.producer.pauseProducing()
        await self.produce(*[(("logs", "1", "append"), {"num_lines": n}) for n in range(1000)])
        self.assertEqual(stream.events(), [])
        stream.producer.resumeProducing()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual(len(stream.events()), 1)
        self.assertIn('"num_lines": 999', stream.text())

    async def test_a_failure_is_a_500(self):
        self.master.mq.startConsuming = lambda cb, f: defer.fail(RuntimeError("mq down"))
        _, uuid = await self.listen()
        request = await self.get(f"add/{uuid}/a/*")
        self.assertEqual(request.responseCode, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        # once the stream has started, a failure can only be logged
        request = await self.get("listen/a/*")
        self.assertFalse(request.finished)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_a_client_gone_before_the_check_is_ignored(self):
        checked: defer.Deferred[Any] = defer.Deferred()
        self.patch(sse, "refusal", lambda www, request: checked)
        request = Request([b"listen"])
        self.res.render_GET(request)
        request._disconnected = True
        checked.callback(None)
        self.assertEqual(request.written, [])
        self.assertEqual(self.res.streams, {})


class SseHttpTests(unittest.TestCase):
    async def setUp(self):
        self.patch(
            service.WWWService, "_make_root", with_live_children(service.WWWService._make_root)
        )
        self.master = fakemaster.make_master(self, wantMq=True, reactor=reactor)
        self.www = service.WWWService()
        await self.www.setServiceParent(self.master)
        await self.www.startService()
        self.addCleanup(self.stop)
        self.pool = HTTPConnectionPool(reactor, persistent=False)

    async def stop(self):
        if self.www.running:
            await self.www.stopService()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.www.getPortnum()}/sse/{path}"

    async def test_stream(self):
        await self.www.reconfigServiceWithBuildbotConfig(www_config())
        res = await treq.get(self.url("listen"), pool=self.pool, unbuffered=True)
        self.assertEqual(res.code, 200)
        self.assertEqual(res.headers.getRawHeaders(b"content-type"), [b"text/event-stream"])
        reader = SseReader()
        done = treq.collect(res, reader.feed)
        event, uuid = await reader.events.get()
        self.assertEqual(event, "handshake")

        added = await treq.get(self.url(f"add/{uuid}/builds/*/new"), pool=self.pool)
        self.assertEqual((added.code, await added.text()), (200, "ok"))
        self.master.mq.produce(("builds", "3", "new"), {"buildid": 3})
        event, data = await reader.events.get()
        self.assertEqual(event, "event")
        self.assertEqual(data, '{"key": ["builds", "3", "new"], "message": {"buildid": 3}}')

        await self.www.stopService()  # ends the stream
        with self.assertRaises(ResponseFailed):
            await done
        self.assertEqual(self.master.mq._consumers, [])

    async def test_refused_without_read_access(self):
        authz = authz_module.Authz(allowRules=[endpointmatchers.AnyEndpointMatcher(role="admins")])
        await self.www.reconfigServiceWithBuildbotConfig(www_config(authz=authz))
        res = await treq.get(self.url("listen/builds/*/*"), pool=self.pool)
        self.assertEqual(res.code, 403)
        self.assertEqual(self.master.mq._consumers, [])
