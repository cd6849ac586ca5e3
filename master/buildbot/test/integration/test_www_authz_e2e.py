"""Web authorization on a real master: master.cfg with c['www'] auth and authz, real
HTTP requests. Anonymous users can neither force nor stop (403, nothing changes);
the admin logs in with basic auth on /auth/login, keeps the session cookie, and can
do both; after /auth/logout the cookie is gone and so is the right.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from buildbot.process.results import CANCELLED
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin
from buildbot.test.util.processes import free_port

MASTER_CFG = """\
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
RELEASE = {release!r}
c['builders'] = [util.BuilderConfig(
    name='slow', workernames=['w1'],
    factory=util.BuildFactory([steps.ShellCommand(
        command=f'while [ ! -e {{RELEASE}} ]; do sleep 0.1; done')]))]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['slow'])]
c['www'] = {{
    'port': 'tcp:{www_port}:interface=127.0.0.1',
    'auth': util.UserPasswordAuth({{'admin': 'secret'}}),
    'authz': util.Authz(
        allowRules=[
            util.ForceBuildEndpointMatcher(role='admins'),
            util.StopBuildEndpointMatcher(role='admins'),
        ],
        roleMatchers=[util.RolesFromUsername(roles=['admins'], usernames=['admin'])],
    ),
}}
"""


class WwwAuthzEndToEnd(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        self.www_port = free_port()
        self.release = os.path.join(self.basedir, "release")
        self.addCleanup(self._release)
        return MASTER_CFG.format(port=self.port, www_port=self.www_port, release=self.release)

    def _release(self) -> None:
        with open(self.release, "w"):
            pass

    async def setUp(self) -> None:
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.cookie: str | None = None
        await super().setUp()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.www_port}/{path}"

    def _headers(self, **more: str) -> dict[str, str]:
        if self.cookie:
            more["Cookie"] = self.cookie
        return more

    async def rpc(self, path: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        res = await treq.post(
            self.url(f"api/v2/{path}"),
            data=json.dumps(body).encode(),
            headers=self._headers(**{"Content-Type": "application/json"}),
            pool=self.pool,
        )
        return res.code, json.loads(await treq.content(res))

    async def buildsets(self) -> list[Any]:
        return list(await self.master.data.get(("buildsets",)))

    async def test_anonymous_denied_admin_allowed(self) -> None:
        denied = {"code": -32600, "message": "you need to have role 'admins'"}
        # anonymous force: 403, no buildset
        code, body = await self.rpc("forceschedulers/force", "force", {"builderNames": ["slow"]})
        self.assertEqual((code, body), (403, {"jsonrpc": "2.0", "id": 1, "error": denied}))
        self.assertEqual(await self.buildsets(), [])

        # the admin logs in with basic auth and keeps the cookie
        token = base64.b64encode(b"admin:secret").decode()
        res = await treq.get(
            self.url("auth/login"), headers={"Authorization": f"Basic {token}"}, pool=self.pool
        )
        await treq.content(res)
        self.assertEqual(res.code, 200)
        self.cookie = res.headers.getRawHeaders("Set-Cookie")[0].split(";")[0]
        self.assertTrue(self.cookie.startswith("TWISTED_SESSION="))

        code, body = await self.rpc("forceschedulers/force", "force", {"builderNames": ["slow"]})
        self.assertEqual(code, 200, body)
        bsid, brids = body["result"]
        (brid,) = brids.values()
        (bs,) = await self.buildsets()
        self.assertEqual(bs["bsid"], bsid)
        props = await self.master.data.get(("buildsets", bsid, "properties"))
        self.assertEqual(props["owner"][0], "admin")

        async def running() -> Any:
            builds = await self.builds_of(brid)
            return builds[0] if builds else None

        build = await self.wait_for("the build to start", running)

        # anonymous stop: 403, the build goes on
        admin_cookie, self.cookie = self.cookie, None
        code, body = await self.rpc(f"builds/{build['buildid']}", "stop", {"reason": "no"})
        self.assertEqual((code, body["error"]), (403, denied))
        self.assertFalse((await self.master.data.get(("builds", build["buildid"])))["complete"])

        # the admin stops it
        self.cookie = admin_cookie
        code, body = await self.rpc(f"builds/{build['buildid']}", "stop", {"reason": "enough"})
        self.assertEqual((code, body["result"]), (200, None))
        br = await self.finished_request(brid)
        self.assertEqual(br["results"], CANCELLED)

        # logout: the cookie is cleared, and with it the right to force
        res = await treq.get(
            self.url("auth/logout"), headers=self._headers(), allow_redirects=False, pool=self.pool
        )
        await treq.content(res)
        self.assertEqual(res.code, 302)
        self.cookie = res.headers.getRawHeaders("Set-Cookie")[0].split(";")[0]
        self.assertEqual(self.cookie, "TWISTED_SESSION=")
        code, body = await self.rpc("forceschedulers/force", "force", {"builderNames": ["slow"]})
        self.assertEqual(code, 403)
        self.assertEqual(len(await self.buildsets()), 1)
