"""BitbucketStatusPush (Bitbucket Cloud): OAuth token request and build statuses,
pinned on the fake HTTPClientService, from build events through the real generators."""

from __future__ import annotations

import hashlib
from typing import Any

from twisted.trial import unittest

from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Secret
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS
from buildbot.reporters import bitbucket
from buildbot.reporters.bitbucket import BitbucketStatusPush
from buildbot.test.unit.reporters.test_bitbucketserver import basic
from buildbot.test.unit.reporters.test_github import (
    BUILD_URL,
    REVISION,
    FakeSecrets,
    ForgeReporterTestMixin,
    config_errors,
)

BASE = "https://api.bitbucket.org/2.0/repositories"
OAUTH = "https://bitbucket.org/site/oauth2/access_token"
STATUS = f"/owner/repo/commit/{REVISION}/statuses/build"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class TestConfig(unittest.TestCase):
    def test_valid_and_invalid(self) -> None:
        self.assertEqual(config_errors(BitbucketStatusPush, "k", "s"), [])
        self.assertEqual(config_errors(BitbucketStatusPush, auth=("u", Secret("p"))), [])
        self.assertIn("not both", config_errors(BitbucketStatusPush, "k", "s", auth=("u", "p"))[0])
        self.assertIn("required", config_errors(BitbucketStatusPush, "k")[0])
        self.assertIn("pair", config_errors(BitbucketStatusPush, auth="u:p")[0])
        self.assertIn("base_url", config_errors(BitbucketStatusPush, "k", "s", base_url="x")[0])

    def test_owner_and_repo(self) -> None:
        sp = BitbucketStatusPush("k", "s")
        sp.base_url = BASE
        for url in [
            "https://bitbucket.org/owner/repo",
            "https://user@bitbucket.org/owner/repo.git",
            "git@bitbucket.org:owner/repo.git",
            "ssh://git@bitbucket.org/owner/repo.git",
            f"{BASE}/owner/repo",
        ]:
            self.assertEqual(sp.get_owner_and_repo(url), ("owner", "repo"), url)
        self.assertIsNone(sp.get_owner_and_repo("https://bitbucket.org/a/b/c"))


class TestBitbucketStatusPush(ForgeReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_master()
        self._http = await self.fake_http(BASE)

    def expect_token(self, key: str = "key", secret: str = "secret", **kw: Any) -> None:
        kw.setdefault("content_json", {"access_token": "tok-1", "token_type": "bearer"})
        self._http.expect(
            "post",
            OAUTH,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(key, secret)},
            **kw,
        )

    def expect_status(self, state: str, description: str, **kw: Any) -> None:
        payload = {
            "state": state,
            "key": sha1(kw.pop("key", "Builder0")),
            "name": kw.pop("name", "Builder0"),
            "description": description,
            "url": BUILD_URL,
        }
        self._http.expect(
            "post",
            kw.pop("ep", STATUS),
            json=payload,
            headers={"Authorization": kw.pop("auth", "Bearer tok-1")},
            code=kw.pop("code", 201),
        )

    async def test_started_with_oauth(self) -> None:
        await self.start_reporter(BitbucketStatusPush("key", "secret"))
        await self.insert_build(repository="https://bitbucket.org/owner/repo")
        self.expect_token()
        self.expect_status("INPROGRESS", "Build started.")
        await self.build_event("new")

    async def check_finished(self, results: int, state: str) -> None:
        await self.start_reporter(BitbucketStatusPush("key", "secret"))
        await self.insert_build(
            repository="git@bitbucket.org:owner/repo.git", results=results, complete=True
        )
        self.expect_token()
        self.expect_status(state, "Build done.")
        await self.build_event("finished")

    async def test_success(self) -> None:
        await self.check_finished(SUCCESS, "SUCCESSFUL")

    async def test_failure(self) -> None:
        await self.check_finished(FAILURE, "FAILED")

    async def test_exception(self) -> None:
        await self.check_finished(EXCEPTION, "FAILED")

    async def test_cancelled(self) -> None:
        await self.check_finished(CANCELLED, "FAILED")

    async def test_app_password_and_custom_key(self) -> None:
        self.master.secrets_manager = FakeSecrets({"app": "app-pw"})
        http = await self.fake_http(BASE, debug=True)
        await self.start_reporter(
            BitbucketStatusPush(
                auth=("bob", Secret("app")),
                debug=True,
                status_key=Interpolate("%(prop:buildername)s/%(prop:branch)s"),
                status_name="CI",
            )
        )
        await self.insert_build(repository="https://bitbucket.org/owner/repo.git")
        http.expect(
            "post",
            STATUS,
            json={
                "state": "INPROGRESS",
                "key": sha1("Builder0/master"),
                "name": "CI",
                "description": "Build started.",
                "url": BUILD_URL,
            },
            headers={"Authorization": basic("bob", "app-pw")},
        )
        await self.build_event("new")

    async def test_oauth_failure_logged(self) -> None:
        await self.start_reporter(BitbucketStatusPush("key", "secret"))
        await self.insert_build(repository="https://bitbucket.org/owner/repo")
        self.expect_token(code=401, content_json={"error": "invalid_client"})
        await self.build_event("new")
        self.assertLogged("OAuth token request failed: HTTP 401")
        self.expect_token(content_json={"nope": 1})
        await self.build_event("new")
        self.assertLogged("no access token")

    async def test_skips_and_status_errors(self) -> None:
        await self.start_reporter(BitbucketStatusPush("key", "secret"))
        await self.insert_build(
            sourcestamps=[
                {"repository": "", "branch": "master", "revision": REVISION},
                {
                    "repository": "https://bitbucket.org/owner/repo",
                    "branch": "master",
                    "revision": None,
                },
                {
                    "repository": "https://bitbucket.org/owner/repo",
                    "branch": "master",
                    "revision": REVISION,
                },
            ]
        )
        self.expect_token()
        self.expect_status("INPROGRESS", "Build started.", code=400)
        await self.build_event("new")
        self.assertLogged("not a Bitbucket repository URL")
        self.assertLogged("no revision")
        self.assertLogged("HTTP 400")

    async def test_reconfig_new_secret(self) -> None:
        await self.start_reporter(BitbucketStatusPush("key", "secret"))
        await self.insert_build(repository="https://bitbucket.org/owner/repo")
        await self.sp.reconfigServiceWithSibling(BitbucketStatusPush("key", "secret2"))
        self.expect_token(secret="secret2")
        self.expect_status("INPROGRESS", "Build started.")
        await self.build_event("new")

    async def test_bad_secret_and_empty_report(self) -> None:
        self.master.secrets_manager = FakeSecrets({})
        await self.start_reporter(BitbucketStatusPush("key", Secret("nope")))
        await self.insert_build(repository="https://bitbucket.org/owner/repo")
        await self.build_event("new")
        self.assertLogged("cannot render the credentials")
        await self.sp.sendMessage([{"builds": []}])
        self.assertEqual(bitbucket.key_hash("a"), sha1("a"))
