"""Live updates from a real master: a WebSocket client (autobahn) and an SSE stream
(treq) watch a forced build that prints many lines, from `new` to `finished`."""

from __future__ import annotations

import json
from typing import Any

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool, ResponseFailed

from buildbot.test.unit.www.test_sse import SseReader
from buildbot.test.unit.www.test_ws import connect_ws, with_live_children
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin
from buildbot.test.util.processes import free_port
from buildbot.www import service

LINES = 20_000

MASTER_CFG = """\
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
c['builders'] = [util.BuilderConfig(
    name='chatty', workernames=['w1'],
    factory=util.BuildFactory([steps.ShellCommand(command='seq 1 {lines}')]))]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['chatty'])]
c['www'] = {{'port': 'tcp:{www_port}:interface=127.0.0.1'}}
"""


class LiveUpdatesEndToEnd(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        self.www_port = free_port()
        return MASTER_CFG.format(port=self.port, www_port=self.www_port, lines=LINES)

    async def setUp(self) -> None:
        self.patch(
            service.WWWService, "_make_root", with_live_children(service.WWWService._make_root)
        )
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        await super().setUp()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.www_port}/{path}"

    async def force(self) -> int:
        body = {"jsonrpc": "2.0", "method": "force", "params": {}, "id": 1}
        res = await treq.post(
            self.url("api/v2/forceschedulers/force"),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            pool=self.pool,
        )
        reply = json.loads(await treq.content(res))
        self.assertEqual(res.code, 200, reply)
        _, brids = reply["result"]
        (brid,) = brids.values()
        return brid

    async def test_websocket_and_sse_follow_a_build(self) -> None:
        client = await connect_ws(self.www_port)
        self.addCleanup(client.close)
        for i, path in enumerate(["builds/*/*", "logs/*/*"]):
            client.send({"cmd": "startConsuming", "path": path, "_id": i})
            self.assertEqual(await client.next(), {"msg": "OK", "code": 200, "_id": i})

        stream = await treq.get(self.url("sse/listen/builds/*/finished"), pool=self.pool)
        self.assertEqual(stream.code, 200)
        sse = SseReader()
        ended = treq.collect(stream, sse.feed)
        event, _ = await sse.events.get()
        self.assertEqual(event, "handshake")

        brid = await self.force()
        frames: list[dict[str, Any]] = []
        while True:
            frame = await client.next()
            frames.append(frame)
            if frame["k"].startswith("builds/") and frame["k"].endswith("/finished"):
                break
        keys = [f["k"] for f in frames]
        (build,) = await self.builds_of(brid)
        bid = build["buildid"]
        self.assertEqual(keys[0], f"builds/{bid}/new")
        self.assertEqual(keys[-1], f"builds/{bid}/finished")
        self.assertIn(f"builds/{bid}/update", keys)
        self.assertEqual(frames[-1]["m"]["results"], 0)
        self.assertEqual(frames[-1]["m"]["buildid"], bid)
        appends = [f for f in frames if f["k"].endswith("/append")]
        self.assertGreaterEqual(len(appends), 1)
        # a log's appends arrive coalesced: far fewer frames than lines
        self.assertLess(len(appends), LINES // 100)

        event, data = await sse.events.get()
        self.assertEqual(event, "event")
        got = json.loads(data)
        self.assertEqual(got["key"], ["builds", str(bid), "finished"])
        self.assertEqual(got["message"]["results"], 0)

        await self.master.stopService()  # ends the SSE stream and the WebSocket
        await client.closed
        with self.assertRaises(ResponseFailed):
            await ended
