"""HttpStatusPush from a real master.cfg on a real BuildMaster with a real worker, posting
to real HTTP servers on 127.0.0.1: one that answers, one that fails once (the post is
retried), and one that is down (logged; the build is not affected)."""

from __future__ import annotations

import json
import os
from typing import Any

from twisted.trial import unittest

from buildbot import master as master_module
from buildbot.process.results import SUCCESS
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin
from buildbot.test.util.httpserver import HTTPTestServer
from buildbot.test.util.processes import free_port

MASTER_CFG = """\
from buildbot.plugins import reporters, schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://ci.example/'

f = util.BuildFactory([steps.ShellCommand(name='hello', command='echo hello')])
c['builders'] = [util.BuilderConfig(name='quick', workernames=['w1'], factory=f)]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['quick'])]

def summary(ctx):
    b = ctx['build']
    return {{'number': b['number'], 'results': b['results'], 'builder': b['builder']['name']}}

c['services'] = [
    reporters.HttpStatusPush({ok!r}, name='ok', headers={{'X-Test': {header!r}}}),
    reporters.HttpStatusPush(
        {flaky!r}, name='flaky',
        generators=[reporters.BuildStatusGenerator(
            mode='all',
            message_formatter=reporters.MessageFormatterFunction(summary, 'json'))]),
    reporters.HttpStatusPush({down!r}, name='down'),
]
"""


class HttpStatusPushE2E(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        self.ok = HTTPTestServer()
        self.flaky = HTTPTestServer()
        for server in (self.ok, self.flaky):
            server.start()
            self.addCleanup(server.stop)
        self.flaky.add_reply(500, "try again")
        self.down_url = f"http://127.0.0.1:{free_port()}/status"
        return self.cfg_text("/status", "yes")

    def cfg_text(self, ok_path: str, header: str) -> str:
        return MASTER_CFG.format(
            port=self.port,
            ok=self.ok.url + ok_path,
            header=header,
            flaky=self.flaky.url + "/hook",
            down=self.down_url,
        )

    async def force(self) -> int:
        _, brids = await self.master.data.control(
            "force", {"builderNames": ["quick"], "reason": "e2e"}, ("forceschedulers", "force")
        )
        (brid,) = brids.values()
        return brid

    async def received(self, server: HTTPTestServer, count: int) -> list[Any]:
        async def enough() -> Any:
            return server.requests if len(server.requests) >= count else None

        await self.wait_for(f"{count} request(s) at {server.url}", enough)
        return server.requests

    async def test_push_retry_and_server_down(self) -> None:
        brid = await self.force()
        await self.finished_request(brid)
        [build] = await self.builds_of(brid)
        self.assertEqual(build["results"], SUCCESS)

        # the default generator: the build dict when it starts and when it ends
        started, finished = await self.received(self.ok, 2)
        for req in (started, finished):
            self.assertEqual((req.method, req.path), ("POST", "/status"))
            self.assertEqual(req.headers["content-type"], "application/json")
            self.assertEqual(req.headers["x-test"], "yes")
        first, last = json.loads(started.body), json.loads(finished.body)
        self.assertEqual(first["buildid"], build["buildid"])
        self.assertFalse(first["complete"])
        self.assertIsNone(first["results"])
        self.assertTrue(last["complete"])
        self.assertEqual(last["results"], SUCCESS)
        self.assertEqual(last["builder"]["name"], "quick")
        self.assertEqual(last["url"], f"http://ci.example/#/builders/{build['builderid']}/builds/1")
        self.assertEqual(last["properties"]["buildername"], ["quick", "Builder"])
        self.assertIsInstance(last["started_at"], int)

        # 500 first, then the same report again after the backoff
        failed, retried = await self.received(self.flaky, 2)
        expected = {"number": 1, "results": SUCCESS, "builder": "quick"}
        self.assertEqual(json.loads(failed.body), expected)
        self.assertEqual(json.loads(retried.body), expected)

        # the server that is down: two reports, each tried three times, then logged
        async def gave_up() -> Any:
            done = [m for m in self.messages if self.down_url in m and "giving up" in m]
            return done if len(done) >= 2 else None

        await self.wait_for("the reporter to give up on the server that is down", gave_up)
        # nothing more arrived anywhere
        self.assertEqual(len(self.ok.requests), 2)
        self.assertEqual(len(self.flaky.requests), 2)

    async def test_reconfig_takes_effect(self) -> None:
        await self.finished_request(await self.force())
        await self.received(self.ok, 2)
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(self.cfg_text("/v2", "changed"))
        await self.master.reconfig()
        self.assertIn(master_module.RECONFIG_COMPLETE, self.messages)
        await self.finished_request(await self.force())
        requests = await self.received(self.ok, 4)
        self.assertEqual([r.path for r in requests], ["/status", "/status", "/v2", "/v2"])
        self.assertEqual(
            [r.headers["x-test"] for r in requests], ["yes", "yes", "changed", "changed"]
        )
        self.assertEqual(json.loads(requests[-1].body)["number"], 2)
