"""/ws: the event queue on a clock, the command protocol over the real in-process MQ,
and the WebSocket itself served by a real WWWService to a real autobahn client."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import treq
from twisted.internet import defer, reactor, task
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from buildbot.test.fake import fakemaster
from buildbot.util import eventual
from buildbot.www import service, sse, ws
from buildbot.www.authz import authz as authz_module
from buildbot.www.authz import endpointmatchers

# --- an autobahn client, also used by the end-to-end test --------------------------------


def with_live_children(original: Any) -> Any:
    """A `WWWService._make_root` that also serves /ws and /sse (until service.py does)."""

    def make_root(self: Any) -> Any:
        root = original(self)
        if b"ws" not in root.children:
            root.putChild(b"ws", ws.make_ws_resource(self))
        if b"sse" not in root.children:
            root.putChild(b"sse", sse.make_sse_resource(self))
        return root

    return make_root


async def connect_ws(port: int, headers: dict[str, str] | None = None) -> Any:
    """A connected client: `.send(obj)`, `await .next()` (decoded frames), `.close()`;
    `.opened` fails with the refusal if the handshake is refused."""
    from autobahn.twisted.websocket import (
        WebSocketClientFactory,
        WebSocketClientProtocol,
        connectWS,
    )

    class Client(WebSocketClientProtocol):
        def __init__(self) -> None:
            super().__init__()
            self.frames: defer.DeferredQueue[Any] = defer.DeferredQueue()
            self.closed: defer.Deferred[Any] = defer.Deferred()

        def onOpen(self) -> None:
            self.factory.opened.callback(self)

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.frames.put(json.loads(payload))

        def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
            if not self.factory.opened.called:
                self.factory.opened.errback(RuntimeError(f"refused: {code} {reason}"))
            if not self.closed.called:
                self.closed.callback(code)

        def send(self, obj: Any) -> None:
            self.sendMessage(json.dumps(obj).encode())

        def next(self) -> defer.Deferred[Any]:
            return self.frames.get()

        def close(self) -> defer.Deferred[Any]:
            self.sendClose()
            return self.closed

    factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}/ws", headers=headers or {})
    factory.protocol = Client
    factory.opened = defer.Deferred()
    connector = connectWS(factory)
    try:
        return await factory.opened
    except Exception:
        connector.disconnect()
        raise


# --- the event queue --------------------------------------------------------------------


class EventQueueTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.sent: list[tuple[tuple[str, ...], Any]] = []
        self.queue = ws.EventQueue(self.clock, lambda k, m: self.sent.append((k, m)))

    def test_batches_until_the_interval(self):
        self.queue.put(("builds", "1", "new"), {"n": 1})
        self.queue.put(("builds", "1", "update"), {"n": 2})
        self.clock.advance(ws.FLUSH_INTERVAL / 2)
        self.assertEqual(self.sent, [])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)  # one timer for both
        self.clock.advance(ws.FLUSH_INTERVAL / 2)
        self.assertEqual(
            self.sent, [(("builds", "1", "new"), {"n": 1}), (("builds", "1", "update"), {"n": 2})]
        )
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_log_appends_collapse_into_the_last(self):
        for i in range(10_000):
            self.queue.put(("logs", "7", "append"), {"num_lines": i})
            self.queue.put(("steps", "3", "logs", "stdio", "append"), {"num_lines": i})
        self.queue.put(("logs", "8", "append"), {"num_lines": 1})
        self.queue.put(("logs", "7", "finished"), {"num_lines": 9999})
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual(
            [k for k, _ in self.sent],
            [
                ("logs", "7", "append"),
                ("steps", "3", "logs", "stdio", "append"),
                ("logs", "8", "append"),
                ("logs", "7", "finished"),
            ],
        )
        self.assertEqual(self.sent[0][1], {"num_lines": 9999})

    def test_other_events_keep_every_copy(self):
        self.queue.put(("builds", "1", "update"), {"s": "a"})
        self.queue.put(("builds", "1", "update"), {"s": "b"})
        self.queue.put(("builds", "1", "properties", "update"), {"p": 1})
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([m for _, m in self.sent], [{"s": "a"}, {"s": "b"}, {"p": 1}])

    def test_paused_queue_waits_for_resume(self):
        self.queue.pause()
        self.queue.put(("builds", "1", "new"), {})
        self.clock.advance(1)
        self.assertEqual(self.sent, [])
        self.queue.resume()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual(len(self.sent), 1)

    def test_pause_during_a_flush_keeps_the_rest(self):
        def send(key, message):
            self.sent.append((key, message))
            self.queue.pause()  # the transport is full after one frame

        self.queue.send = send
        for i in range(3):
            self.queue.put(("builds", str(i), "new"), {})
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual(len(self.sent), 1)
        self.assertEqual(len(self.queue), 2)
        self.queue.resume()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([k[1] for k, _ in self.sent], ["0", "1"])
        self.queue.resume()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([k[1] for k, _ in self.sent], ["0", "1", "2"])

    def test_a_client_that_does_not_read_costs_bounded_memory(self):
        queue = ws.EventQueue(self.clock, lambda k, m: self.sent.append((k, m)), limit=100)
        queue.pause()
        for i in range(10_000):
            queue.put(("builds", str(i % 30), "update"), {"i": i})
            queue.put(("builds", str(i), "new"), {"i": i})
            self.assertLessEqual(len(queue), 100)
        self.assertGreater(queue.dropped, 0)
        queue.resume()
        self.clock.advance(ws.FLUSH_INTERVAL)
        # the newest events survive, in order
        self.assertEqual(self.sent[-1], (("builds", "9999", "new"), {"i": 9999}))
        updates = {k: m for k, m in self.sent if k[2] == "update"}
        self.assertIn({"i": 9999}, updates.values())

    def test_discard(self):
        self.queue.put(("builds", "1", "new"), {})
        self.queue.put(("builds", "2", "new"), {})
        self.queue.discard(lambda key: key[1] == "1")
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([k for k, _ in self.sent], [("builds", "2", "new")])

    def test_close_cancels_and_ignores(self):
        self.queue.put(("builds", "1", "new"), {})
        self.queue.close()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.queue.put(("builds", "2", "new"), {})
        self.clock.advance(1)
        self.assertEqual(self.sent, [])

    def test_a_failing_send_is_logged_and_the_rest_sent(self):
        def send(key, message):
            if key[1] == "1":
                raise ValueError("boom")
            self.sent.append((key, message))

        self.queue.send = send
        self.queue.put(("builds", "1", "new"), {})
        self.queue.put(("builds", "2", "new"), {})
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([k[1] for k, _ in self.sent], ["2"])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_flow(self):
        flow = ws.QueueFlow()
        flow.pauseProducing()
        flow.attach(self.queue)
        self.assertTrue(self.queue.paused)
        flow.resumeProducing()
        self.assertFalse(self.queue.paused)
        flow.pauseProducing()
        self.assertTrue(self.queue.paused)
        flow.stopProducing()
        self.assertTrue(self.queue.closed)
        ws.QueueFlow().stopProducing()  # not attached: nothing to do


# --- the protocol, over the in-process MQ ------------------------------------------------


class WsSessionTests(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.master = fakemaster.make_master(self, wantMq=True, reactor=self.clock)
        self.www = SimpleNamespace(master=self.master, reactor=self.clock, config={})
        self.frames: list[Any] = []
        self.flow = ws.QueueFlow()
        self.session = ws.WsSession(
            self.www, lambda b: self.frames.append(json.loads(b)), self.flow
        )

    async def send(self, frame: Any) -> Any:
        raw = frame if isinstance(frame, (bytes, str)) else json.dumps(frame)
        await self.session.on_message(raw)
        return self.frames.pop()

    async def deliver(self, *events: tuple[tuple[str, ...], Any]) -> list[Any]:
        for key, message in events:
            self.master.mq.produce(key, message)
        await eventual.flushEventualQueue()
        self.clock.advance(ws.FLUSH_INTERVAL)
        frames, self.frames = self.frames, []
        return frames

    async def test_ping(self):
        self.assertEqual(
            await self.send({"cmd": "ping", "_id": 1}), {"msg": "pong", "code": 200, "_id": 1}
        )

    async def test_start_consuming_receives_matching_events(self):
        reply = await self.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": "a"})
        self.assertEqual(reply, {"msg": "OK", "code": 200, "_id": "a"})
        frames = await self.deliver(
            (("builds", "6", "new"), {"buildid": 6}),
            (("builders", "1", "builds", "2", "new"), {"buildid": 6}),
            (("builds", "6", "finished"), {"buildid": 6, "results": 0}),
        )
        self.assertEqual(
            frames,
            [
                {"k": "builds/6/new", "m": {"buildid": 6}},
                {"k": "builds/6/finished", "m": {"buildid": 6, "results": 0}},
            ],
        )

    async def test_frames_are_compact_in_insertion_order(self):
        sent: list[bytes] = []
        session = ws.WsSession(self.www, sent.append, ws.QueueFlow())
        await session.on_message(json.dumps({"cmd": "startConsuming", "path": "x/*", "_id": 2}))
        self.assertEqual(sent.pop(), b'{"msg":"OK","code":200,"_id":2}')
        self.master.mq.produce(("x", "1"), {"z": 1, "a": None})
        await eventual.flushEventualQueue()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual(sent, [b'{"k":"x/1","m":{"z":1,"a":null}}'])

    async def test_a_chatty_log_is_coalesced(self):
        await self.send({"cmd": "startConsuming", "path": "logs/*/*", "_id": 1})
        frames = await self.deliver(
            *[(("logs", "5", "append"), {"logid": 5, "num_lines": n}) for n in range(10_000)],
            (("logs", "5", "finished"), {"logid": 5, "num_lines": 10_000}),
        )
        self.assertEqual(
            frames,
            [
                {"k": "logs/5/append", "m": {"logid": 5, "num_lines": 9999}},
                {"k": "logs/5/finished", "m": {"logid": 5, "num_lines": 10_000}},
            ],
        )

    async def test_resubscribing_just_acks_and_stop_ends_delivery(self):
        path = {"path": "builds/*/new"}
        await self.send({"cmd": "startConsuming", "_id": 1, **path})
        reply = await self.send({"cmd": "startConsuming", "_id": 2, **path})
        self.assertEqual(reply, {"msg": "OK", "code": 200, "_id": 2})
        self.assertEqual(len(await self.deliver((("builds", "1", "new"), {}))), 1)  # once
        reply = await self.send({"cmd": "stopConsuming", "_id": 3, **path})
        self.assertEqual(reply, {"msg": "OK", "code": 200, "_id": 3})
        self.assertEqual(await self.deliver((("builds", "2", "new"), {})), [])
        reply = await self.send({"cmd": "stopConsuming", "_id": 4, **path})
        self.assertEqual(
            reply, {"error": "path was not consumed 'builds/*/new'", "code": 400, "_id": 4}
        )

    async def test_overlapping_subscriptions_deliver_twice(self):
        await self.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 1})
        await self.send({"cmd": "startConsuming", "path": "builds/*/new", "_id": 2})
        frames = await self.deliver((("builds", "1", "new"), {}))
        self.assertEqual(len(frames), 2)

    async def test_stop_drops_waiting_events_only_that_path_wanted(self):
        await self.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 1})
        await self.send({"cmd": "startConsuming", "path": "steps/*/*", "_id": 2})
        self.master.mq.produce(("builds", "1", "new"), {})
        self.master.mq.produce(("steps", "1", "new"), {})
        await eventual.flushEventualQueue()
        await self.send({"cmd": "stopConsuming", "path": "builds/*/*", "_id": 3})
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([f["k"] for f in self.frames], ["steps/1/new"])

    async def test_stop_while_the_subscription_is_being_made(self):
        started: defer.Deferred[Any] = defer.Deferred()
        real = self.master.mq.startConsuming
        self.master.mq.startConsuming = lambda cb, f: started
        d = defer.ensureDeferred(
            self.session.on_message(json.dumps({"cmd": "startConsuming", "path": "a/*", "_id": 1}))
        )
        await self.send({"cmd": "stopConsuming", "path": "a/*", "_id": 2})
        qref = await real(lambda k, m: None, ("a", None))
        started.callback(qref)
        await d
        self.assertFalse(qref.active)
        self.assertEqual(self.frames, [{"msg": "OK", "code": 200, "_id": 1}])

    async def test_a_failed_subscription_is_an_internal_error(self):
        self.master.mq.startConsuming = lambda cb, f: defer.fail(RuntimeError("mq down"))
        reply = await self.send({"cmd": "startConsuming", "path": "a/*", "_id": 1})
        self.assertEqual(reply, {"error": "Internal Error 'mq down'", "code": 500, "_id": 1})
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertNotIn("a/*", self.session.subscriptions)

    async def test_close_ends_subscriptions(self):
        await self.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 1})
        self.session.close()
        self.assertEqual(self.master.mq._consumers, [])
        self.master.mq.produce(("builds", "1", "new"), {})
        await eventual.flushEventualQueue()
        self.clock.advance(1)
        self.assertEqual(self.frames, [])
        # a subscription completing after the close is ended at once
        await self.session.subscriptions.start("x/*")
        self.assertEqual(self.master.mq._consumers, [])

    async def test_errors(self):
        cases = [
            (b"not json", {"error": "invalid JSON in websocket frame", "code": 400, "_id": None}),
            ([1], {"error": "no '_id' or 'type' in websocket frame", "code": 400, "_id": None}),
            (
                {"cmd": "ping"},
                {"error": "no '_id' or 'type' in websocket frame", "code": 400, "_id": None},
            ),
            (
                {"type": "connection_init"},
                {"error": "graphql subscriptions are not supported", "code": 400, "_id": None},
            ),
            ({"_id": 5}, {"error": "no 'cmd' in websocket frame", "code": 400, "_id": None}),
            (
                {"_id": 5, "cmd": "frobnicate"},
                {"error": "no such command type 'frobnicate'", "code": 404, "_id": 5},
            ),
            (
                {"_id": 5, "cmd": ["ping"]},
                {"error": "no such command type '['ping']'", "code": 404, "_id": 5},
            ),
            (
                {"_id": 5, "cmd": "startConsuming", "path": 3},
                {"error": "invalid path format '3'", "code": 400, "_id": 5},
            ),
            (
                {"_id": 5, "cmd": "stopConsuming", "path": None},
                {"error": "invalid path format 'None'", "code": 400, "_id": 5},
            ),
        ]
        for frame, expected in cases:
            self.assertEqual(await self.send(frame), expected, frame)

    async def test_bad_arguments(self):
        reply = await self.send({"_id": 5, "cmd": "startConsuming"})
        self.assertEqual((reply["code"], reply["_id"]), (400, 5))
        self.assertTrue(reply["error"].startswith("Invalid method argument '"), reply)
        self.assertIn("path", reply["error"])
        reply = await self.send({"_id": 6, "cmd": "ping", "extra": 1})
        self.assertEqual((reply["code"], reply["_id"]), (400, 6))
        self.assertIn("extra", reply["error"])

    async def test_full_transport_holds_events(self):
        await self.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 1})
        self.flow.pauseProducing()
        self.assertEqual(await self.deliver((("builds", "1", "new"), {})), [])
        self.flow.resumeProducing()
        self.clock.advance(ws.FLUSH_INTERVAL)
        self.assertEqual([f["k"] for f in self.frames], ["builds/1/new"])


# --- the WebSocket, end to end over TCP --------------------------------------------------


def www_config(**www):
    return SimpleNamespace(
        www={"port": "tcp:0:interface=127.0.0.1", "logfileName": None, **www},
        buildbotURL="http://127.0.0.1/",
    )


class WsResourceTests(unittest.TestCase):
    async def setUp(self):
        self.patch(
            service.WWWService, "_make_root", with_live_children(service.WWWService._make_root)
        )
        self.master = fakemaster.make_master(self, wantMq=True, reactor=reactor)
        self.www = service.WWWService()
        await self.www.setServiceParent(self.master)
        await self.www.startService()
        self.addCleanup(self.stop)

    async def stop(self):
        if self.www.running:
            await self.www.stopService()

    async def test_subscribe_and_receive(self):
        await self.www.reconfigServiceWithBuildbotConfig(www_config())
        client = await connect_ws(self.www.getPortnum())
        client.send({"cmd": "ping", "_id": 1})
        self.assertEqual(await client.next(), {"msg": "pong", "code": 200, "_id": 1})
        client.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 2})
        self.assertEqual(await client.next(), {"msg": "OK", "code": 200, "_id": 2})
        self.master.mq.produce(("builds", "1", "new"), {"buildid": 1})
        self.assertEqual(await client.next(), {"k": "builds/1/new", "m": {"buildid": 1}})
        # the site sees the WebSocket (not the HTTP channel it came from) as its connection
        (conn,) = self.www.site.connections
        self.assertIsNotNone(conn.session)
        self.assertIs(conn.transport.producer, conn.flow)
        await client.close()
        await self.www.site.wait_idle()
        self.assertEqual(self.master.mq._consumers, [])

    async def test_stopping_the_server_closes_websockets(self):
        await self.www.reconfigServiceWithBuildbotConfig(www_config())
        client = await connect_ws(self.www.getPortnum())
        client.send({"cmd": "startConsuming", "path": "builds/*/*", "_id": 2})
        await client.next()
        await self.www.stopService()
        await client.closed
        self.assertEqual(self.master.mq._consumers, [])

    async def test_server_pings_when_configured(self):
        await self.www.reconfigServiceWithBuildbotConfig(www_config(ws_ping_interval=7))
        await connect_ws(self.www.getPortnum())
        (conn,) = self.www.site.connections
        self.assertEqual(conn.autoPingInterval, 7)

    async def test_refused_without_read_access(self):
        authz = authz_module.Authz(
            allowRules=[endpointmatchers.AnyEndpointMatcher(role="admins")],
            roleMatchers=[],
        )
        await self.www.reconfigServiceWithBuildbotConfig(www_config(authz=authz))
        with self.assertRaises(RuntimeError) as caught:
            await connect_ws(self.www.getPortnum())
        self.assertIn("403", str(caught.exception))
        self.assertEqual(self.master.mq._consumers, [])

    async def test_autobahn_is_imported_only_for_a_websocket(self):
        # (the classes are made once per process, so only the laziness is checked here)
        res = ws.make_ws_resource(self.www)
        self.assertIsNone(res._ws)

    async def test_plain_http_get_is_answered_by_autobahn(self):
        await self.www.reconfigServiceWithBuildbotConfig(www_config())
        pool = HTTPConnectionPool(reactor, persistent=False)
        res = await treq.get(f"http://127.0.0.1:{self.www.getPortnum()}/ws", pool=pool)
        body = await treq.content(res)
        self.assertEqual(res.code, 200)  # autobahn's status page
        self.assertIn(b"WebSocket", body)
        await self.www.site.wait_idle()  # the connection it took over is gone too

    async def test_a_failing_check_is_a_500(self):
        async def broken(www, request):
            raise ValueError("no")

        self.patch(ws, "refusal", broken)
        await self.www.reconfigServiceWithBuildbotConfig(www_config())
        pool = HTTPConnectionPool(reactor, persistent=False)
        res = await treq.get(f"http://127.0.0.1:{self.www.getPortnum()}/ws", pool=pool)
        self.assertEqual(res.code, 500)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_a_client_gone_before_the_check_is_ignored(self):
        request = SimpleNamespace(_disconnected=True)
        res = ws.make_ws_resource(self.www)
        res._answer(None, request)  # nothing to answer: no attribute of a request is used
        self.assertIsNone(res._ws)
