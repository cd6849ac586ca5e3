"""GitHub webhooks on a real master: master.cfg enables the github dialect with a
secret (strict); real HTTP POSTs of a push, signed well, signed badly and unsigned;
only the good one shows up in /api/v2/changes."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from buildbot.test.unit.www.test_hooks_github import PUSH
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin
from buildbot.test.util.processes import free_port

SECRET = "hook-secret"

MASTER_CFG = """\
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
c['builders'] = [util.BuilderConfig(
    name='b', workernames=['w1'],
    factory=util.BuildFactory([steps.ShellCommand(command='true')]))]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['b'])]
c['www'] = {{
    'port': 'tcp:{www_port}:interface=127.0.0.1',
    'change_hook_dialects': {{'github': {{'secret': {secret!r}, 'strict': True}}}},
}}
"""


class GitHubHookEndToEnd(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        self.www_port = free_port()
        return MASTER_CFG.format(port=self.port, www_port=self.www_port, secret=SECRET)

    async def setUp(self) -> None:
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        await super().setUp()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.www_port}/{path}"

    async def push(self, body: bytes, **headers: str) -> tuple[int, bytes]:
        res = await treq.post(
            self.url("change_hook/github"),
            data=body,
            headers={"Content-Type": "application/json", "X-GitHub-Event": "push", **headers},
            pool=self.pool,
        )
        return res.code, await treq.content(res)

    async def changes(self) -> list[dict[str, Any]]:
        res = await treq.get(self.url("api/v2/changes"), pool=self.pool)
        self.assertEqual(res.code, 200)
        return json.loads(await treq.content(res))["changes"]

    async def test_signed_push(self) -> None:
        body = json.dumps(PUSH).encode()
        good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        bad = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()

        code, text = await self.push(body, **{"X-Hub-Signature-256": bad})
        self.assertEqual((code, text), (403, b"the signature does not match the payload\n"))
        code, text = await self.push(body)
        self.assertEqual((code, text), (403, b"strict mode: the request carries no signature\n"))
        self.assertEqual(await self.changes(), [])

        code, text = await self.push(body, **{"X-Hub-Signature-256": good})
        self.assertEqual(code, 200, text)
        ids = json.loads(text)["changeids"]
        self.assertEqual(len(ids), 2)
        got = await self.changes()
        self.assertEqual(
            [(c["changeid"], c["revision"], c["sourcestamp"]["branch"], c["author"]) for c in got],
            [
                (ids[0], PUSH["commits"][0]["id"], "main", "Mona Lisa <mona@example.com>"),
                (ids[1], PUSH["commits"][1]["id"], "main", "Mona Lisa <mona@example.com>"),
            ],
        )
        self.assertEqual(got[0]["properties"]["event"], ["push", "Change"])
