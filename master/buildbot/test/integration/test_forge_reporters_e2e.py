"""GitHubStatusPush and GitLabStatusPush from a real master.cfg on a real BuildMaster
with a real worker, talking to a small fake GitHub/GitLab API (twisted.web on
127.0.0.1) that records each request and refuses a wrong token; the GitHub token
comes from a SecretInAFile provider. A reconfiguration with a new GitLab token is
used by the next build."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web import resource, server

from buildbot import master as master_module
from buildbot.process.results import SUCCESS
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin

SHA = "0123456789abcdef0123456789abcdef01234567"

MASTER_CFG = """\
from buildbot.plugins import reporters, schedulers, secrets, steps, util, worker

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://ci.example/'
c['secretsProviders'] = [secrets.SecretInAFile({secrets_dir!r})]

f = util.BuildFactory([steps.ShellCommand(name='hello', command='echo hello')])
c['builders'] = [util.BuilderConfig(name='quick', workernames=['w1'], factory=f)]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['quick'])]

c['services'] = [
    reporters.GitHubStatusPush(util.Secret('ghtoken'), baseURL={api!r} + '/api/v3'),
    reporters.GitLabStatusPush({gitlab_token!r}, baseURL={api!r} + '/gitlab/',
                               context='ci/gitlab'),
]
"""


@dataclass
class Seen:
    method: str
    path: str  # as sent, still percent-encoded
    headers: dict[str, str]
    body: Any


class FakeForge(resource.Resource):
    """Enough of the GitHub (under /api/v3) and GitLab (under /gitlab) APIs: records
    every request; 401 when the token is not the expected one."""

    isLeaf = True

    def __init__(self, github_token: str, gitlab_token: str) -> None:
        super().__init__()
        self.github_token = github_token
        self.gitlab_token = gitlab_token
        self.seen: list[Seen] = []

    def render(self, request: server.Request) -> bytes:
        path = request.uri.decode("ascii").split("?", 1)[0]
        headers = {
            k.decode().lower(): b", ".join(v).decode()
            for k, v in request.requestHeaders.getAllRawHeaders()
        }
        raw = request.content.read()
        body = json.loads(raw) if raw else None
        self.seen.append(Seen(request.method.decode(), path, headers, body))
        request.setHeader(b"content-type", b"application/json")
        if path.startswith("/api/v3/"):
            ok = headers.get("authorization") == f"token {self.github_token}"
            answer: tuple[int, Any] = (201, {"id": 1, "state": (body or {}).get("state")})
        else:
            ok = headers.get("private-token") == self.gitlab_token
            if request.method == b"GET":
                found = path == "/gitlab/api/v4/projects/buildbot%2Fbuildbot"
                answer = (200, {"id": 17}) if found else (404, {"message": "404 Not Found"})
            else:
                answer = (201, {"id": 2, "status": (body or {}).get("state")})
        if not ok:
            answer = (401, {"message": "401 Unauthorized"})
        request.setResponseCode(answer[0])
        return json.dumps(answer[1]).encode()


class ForgeReportersE2E(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        self.forge = FakeForge("gh-s3cret", "glpat-one")
        site = server.Site(self.forge)
        self.listening = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(self.listening.stopListening)
        self.api = f"http://127.0.0.1:{self.listening.getHost().port}"
        self.secrets_dir = os.path.join(self.basedir, "secrets")
        os.makedirs(self.secrets_dir)
        path = os.path.join(self.secrets_dir, "ghtoken")
        with open(path, "w") as f:
            f.write("gh-s3cret\n")
        os.chmod(path, 0o600)
        return self.cfg_text("glpat-one")

    def cfg_text(self, gitlab_token: str) -> str:
        return MASTER_CFG.format(
            port=self.port, api=self.api, secrets_dir=self.secrets_dir, gitlab_token=gitlab_token
        )

    async def force(self) -> int:
        _, brids = await self.master.data.control(
            "force",
            {
                "builderNames": ["quick"],
                "reason": "e2e",
                "branch": "main",
                "revision": SHA,
                "repository": "git@github.com:buildbot/buildbot.git",
            },
            ("forceschedulers", "force"),
        )
        (brid,) = brids.values()
        return brid

    async def requests_for(self, prefix: str, count: int) -> list[Seen]:
        async def enough() -> Any:
            got = [s for s in self.forge.seen if s.path.startswith(prefix)]
            return got if len(got) >= count else None

        return await self.wait_for(f"{count} request(s) under {prefix}", enough)

    async def test_statuses_for_one_build(self) -> None:
        brid = await self.force()
        await self.finished_request(brid)
        [build] = await self.builds_of(brid)
        self.assertEqual(build["results"], SUCCESS)
        url = f"http://ci.example/#/builders/{build['builderid']}/builds/1"

        github = await self.requests_for("/api/v3/", 3)
        self.assertEqual(
            {(s.method, s.path) for s in github},
            {("POST", f"/api/v3/repos/buildbot/buildbot/statuses/{SHA}")},
        )
        for s in github:
            self.assertEqual(s.headers["authorization"], "token gh-s3cret")
            self.assertEqual(s.headers["user-agent"], "Buildbot")
            self.assertEqual(s.headers["content-type"], "application/json")
        self.assertEqual(
            [s.body for s in github],
            [
                {
                    "state": "pending",
                    "description": "Build pending.",
                    "target_url": f"http://ci.example/#/buildrequests/{brid}",
                    "context": "buildbot/quick",
                },
                {
                    "state": "pending",
                    "description": "Build started.",
                    "target_url": url,
                    "context": "buildbot/quick",
                },
                {
                    "state": "success",
                    "description": "Build done.",
                    "target_url": url,
                    "context": "buildbot/quick",
                },
            ],
        )

        gitlab = await self.requests_for("/gitlab/", 4)
        # the project id is looked up once, its path sent percent-encoded
        self.assertEqual(
            [(s.method, s.path) for s in gitlab],
            [("GET", "/gitlab/api/v4/projects/buildbot%2Fbuildbot")]
            + [("POST", f"/gitlab/api/v4/projects/17/statuses/{SHA}")] * 3,
        )
        for s in gitlab:
            self.assertEqual(s.headers["private-token"], "glpat-one")
        self.assertEqual([s.body["state"] for s in gitlab[1:]], ["pending", "running", "success"])
        self.assertEqual(
            gitlab[-1].body,
            {
                "state": "success",
                "ref": "main",
                "description": "Build done.",
                "target_url": url,
                "name": "ci/gitlab",
            },
        )
        self.assertFalse([m for m in self.messages if "failed: HTTP" in m])

    async def test_reconfig_with_new_token(self) -> None:
        await self.finished_request(await self.force())
        await self.requests_for("/gitlab/", 4)
        # the server now wants another token; the master is given it by a reconfig
        self.forge.gitlab_token = "glpat-two"
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(self.cfg_text("glpat-two"))
        await self.master.reconfig()
        self.assertIn(master_module.RECONFIG_COMPLETE, self.messages)
        brid = await self.force()
        await self.finished_request(brid)
        [build] = await self.builds_of(brid)
        self.assertEqual(build["results"], SUCCESS)
        gitlab = await self.requests_for("/gitlab/", 8)
        self.assertEqual(
            [s.headers["private-token"] for s in gitlab], ["glpat-one"] * 4 + ["glpat-two"] * 4
        )
        # the new configuration looked the project up again, and every push succeeded
        self.assertEqual(gitlab[4].method, "GET")
        self.assertFalse([m for m in self.messages if "failed: HTTP" in m])
