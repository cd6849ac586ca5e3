"""BitbucketServerStatusPush: build-status requests pinned on the fake
HTTPClientService, from build events through the real generators."""

from __future__ import annotations

import base64
from typing import Any

from twisted.trial import unittest

from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Secret
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS
from buildbot.reporters.bitbucketserver import BitbucketServerStatusPush
from buildbot.test.unit.reporters.test_github import (
    BUILD_URL,
    REVISION,
    FakeSecrets,
    ForgeReporterTestMixin,
    config_errors,
)

BASE = "https://bb.example.com:8443"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestConfig(unittest.TestCase):
    def test_valid_and_invalid(self) -> None:
        self.assertEqual(config_errors(BitbucketServerStatusPush, BASE, "u", "p"), [])
        self.assertEqual(
            config_errors(
                BitbucketServerStatusPush,
                BASE,
                Secret("u"),
                Secret("p"),
                key=Interpolate("%(prop:x)s"),
                statusName="n",
                verbose=True,
            ),
            [],
        )
        self.assertIn("base_url is required", config_errors(BitbucketServerStatusPush)[0])
        self.assertIn("base_url", config_errors(BitbucketServerStatusPush, "x", "u", "p")[0])
        self.assertIn(
            "password is required", config_errors(BitbucketServerStatusPush, BASE, "u")[0]
        )
        self.assertIn("key", config_errors(BitbucketServerStatusPush, BASE, "u", "p", key=1)[0])


class TestBitbucketServerStatusPush(ForgeReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_master()
        self._http = await self.fake_http(BASE)

    def expect_status(self, state: str, description: str | None, **kw: Any) -> None:
        payload = {"state": state, "key": kw.pop("key", "Builder0"), "url": BUILD_URL}
        if "name" in kw:
            payload["name"] = kw.pop("name")
        if description is not None:
            payload["description"] = description
        self._http.expect(
            "post",
            f"/rest/build-status/1.0/commits/{REVISION}",
            json=payload,
            headers={"Authorization": kw.pop("auth", basic("bbuser", "pw"))},
            code=kw.pop("code", 204),
        )

    async def test_started(self) -> None:
        await self.start_reporter(BitbucketServerStatusPush(BASE + "/", "bbuser", "pw"))
        await self.insert_build()
        self.expect_status("INPROGRESS", "Build started.")
        await self.build_event("new")

    async def check_finished(self, results: int, state: str) -> None:
        await self.start_reporter(BitbucketServerStatusPush(BASE, "bbuser", "pw"))
        await self.insert_build(results=results, complete=True)
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

    async def test_key_name_secrets(self) -> None:
        self.master.secrets_manager = FakeSecrets({"bbu": "bot", "bbp": "pässword"})
        await self.start_reporter(
            BitbucketServerStatusPush(
                BASE,
                Secret("bbu"),
                Secret("bbp"),
                key=Interpolate("%(prop:buildername)s-%(prop:branch)s"),
                statusName=Interpolate("CI %(prop:buildername)s"),
                verbose=True,
            )
        )
        await self.insert_build()
        self.expect_status(
            "INPROGRESS",
            "Build started.",
            key="Builder0-master",
            name="CI Builder0",
            auth=basic("bot", "pässword"),
        )
        await self.build_event("new")
        self.assertLogged(f'status "INPROGRESS" sent for {REVISION}')

    async def test_errors_logged_and_retried(self) -> None:
        await self.start_reporter(BitbucketServerStatusPush(BASE, "bbuser", "pw"))
        await self.insert_build(
            sourcestamps=[
                {"repository": "r", "branch": "master", "revision": None},
                {"repository": "r", "branch": "master", "revision": REVISION},
            ]
        )
        self.expect_status("INPROGRESS", "Build started.", code=500)
        self.expect_status("INPROGRESS", "Build started.", code=401)
        await self.build_event("new")
        self.assertLogged("no revision")
        self.assertLogged("HTTP 401")

    async def test_reconfig_new_password(self) -> None:
        await self.start_reporter(BitbucketServerStatusPush(BASE, "bbuser", "pw"))
        await self.insert_build()
        await self.sp.reconfigServiceWithSibling(BitbucketServerStatusPush(BASE, "bbuser", "pw2"))
        self.expect_status("INPROGRESS", "Build started.", auth=basic("bbuser", "pw2"))
        await self.build_event("new")

    async def test_bad_secret_and_empty_report(self) -> None:
        self.master.secrets_manager = FakeSecrets({})
        await self.start_reporter(BitbucketServerStatusPush(BASE, "u", Secret("nope")))
        await self.insert_build()
        await self.build_event("new")
        self.assertLogged("cannot render the credentials")
        await self.sp.sendMessage([{"builds": []}])
