"""GitLabStatusPush: project lookup and commit statuses, pinned request by request on
the fake HTTPClientService, from build events through the real generators."""

from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Secret
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters import gitlab
from buildbot.reporters.gitlab import GitLabStatusPush
from buildbot.test.unit.reporters.test_github import (
    BUILD_URL,
    REVISION,
    FakeSecrets,
    ForgeReporterTestMixin,
    config_errors,
)

REPO = "https://gitlab.com/buildbot/buildbot"
LOOKUP = "/api/v4/projects/buildbot%2Fbuildbot"
STATUS = f"/api/v4/projects/17/statuses/{REVISION}"


class TestConfig(unittest.TestCase):
    def test_valid_and_invalid(self) -> None:
        self.assertEqual(config_errors(GitLabStatusPush, "tok"), [])
        self.assertEqual(config_errors(GitLabStatusPush, Secret("t"), baseURL="https://gl.x"), [])
        self.assertIn("token is required", config_errors(GitLabStatusPush)[0])
        self.assertIn("baseURL", config_errors(GitLabStatusPush, "t", baseURL="gl.x")[0])

    def test_states(self) -> None:
        self.assertEqual(gitlab.gitlab_state({"complete": False}), "pending")
        self.assertEqual(gitlab.gitlab_state({"complete": False, "started_at": 1}), "running")
        expected = {
            SUCCESS: "success",
            WARNINGS: "success",
            FAILURE: "failed",
            EXCEPTION: "failed",
            CANCELLED: "canceled",
            99: "failed",
        }
        for results, state in expected.items():
            self.assertEqual(gitlab.gitlab_state({"complete": True, "results": results}), state)


class TestGitLabStatusPush(ForgeReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_master()
        self._http = await self.fake_http(gitlab.HOSTED_BASE_URL)

    def expect_lookup(self, token: str = "XXYYZZ", ep: str = LOOKUP, **kw: Any) -> None:
        kw.setdefault("content_json", {"id": 17, "path_with_namespace": "buildbot/buildbot"})
        self._http.expect("get", ep, headers={"PRIVATE-TOKEN": token}, **kw)

    def expect_status(self, state: str, description: str, **kw: Any) -> None:
        payload = {
            "state": state,
            "ref": kw.pop("ref", "master"),
            "description": description,
            "target_url": kw.pop("target_url", BUILD_URL),
            "name": kw.pop("name", "buildbot/Builder0"),
        }
        self._http.expect(
            "post",
            kw.pop("ep", STATUS),
            json=payload,
            headers={"PRIVATE-TOKEN": kw.pop("token", "XXYYZZ")},
            code=201,
            **kw,
        )

    async def test_pending_then_running_then_success(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(repository=REPO)
        self.expect_lookup()
        self.expect_status(
            "pending", "Build pending.", target_url="http://localhost:8080/#/buildrequests/11"
        )
        await self.request_event("new")
        # the project id is looked up once
        self.expect_status("running", "Build started.")
        await self.build_event("new")

    async def check_finished(self, results: int, state: str) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(
            repository="git@gitlab.com:buildbot/buildbot.git", results=results, complete=True
        )
        self.expect_lookup()
        self.expect_status(state, "Build done.")
        await self.build_event("finished")

    async def test_success(self) -> None:
        await self.check_finished(SUCCESS, "success")

    async def test_failure(self) -> None:
        await self.check_finished(FAILURE, "failed")

    async def test_exception(self) -> None:
        await self.check_finished(EXCEPTION, "failed")

    async def test_cancelled(self) -> None:
        await self.check_finished(CANCELLED, "canceled")

    async def test_subgroup_self_hosted_secret_and_context(self) -> None:
        http = await self.fake_http("https://git.example.com")
        self.master.secrets_manager = FakeSecrets({"gl": "glpat-1"})
        await self.start_reporter(
            GitLabStatusPush(
                Secret("gl"),
                context=Interpolate("ci:%(prop:buildername)s"),
                baseURL="https://git.example.com/",
                verbose=True,
            )
        )
        await self.insert_build(repository="ssh://git@git.example.com:2222/grp/sub/proj.git")
        http.expect(
            "get",
            "/api/v4/projects/grp%2Fsub%2Fproj",
            headers={"PRIVATE-TOKEN": "glpat-1"},
            content_json={"id": 5},
        )
        http.expect(
            "post",
            f"/api/v4/projects/5/statuses/{REVISION}",
            json={
                "state": "running",
                "ref": "master",
                "description": "Build started.",
                "target_url": BUILD_URL,
                "name": "ci:Builder0",
            },
            headers={"PRIVATE-TOKEN": "glpat-1"},
            code=201,
        )
        await self.build_event("new")
        self.assertLogged('status "running" for project 5')

    async def test_merge_request_properties(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(
            repository=REPO,
            branch="refs/merge-requests/3/head",
            props={"source_project_id": 44, "source_branch": "fix"},
        )
        self.expect_status(
            "running", "Build started.", ref="fix", ep=f"/api/v4/projects/44/statuses/{REVISION}"
        )
        await self.build_event("new")

    async def test_unknown_project(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(repository=REPO)
        self.expect_lookup(code=404, content_json={"message": "404 Project Not Found"})
        await self.build_event("new")
        self.assertLogged("404 Project Not Found")
        # not cached: asked again next time
        self.expect_lookup(content_json={"no": "id"})
        await self.build_event("new")
        self.assertLogged("no project id for buildbot/buildbot")

    async def test_skipped_sourcestamps(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(
            sourcestamps=[
                {"repository": "/srv/local", "branch": "master", "revision": "abc"},
                {"repository": REPO, "branch": "master", "revision": None},
            ]
        )
        await self.build_event("new")
        self.assertLogged("not a GitLab repository URL")
        self.assertLogged("no revision")

    async def test_reconfig_new_token_forgets_ids(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(repository=REPO)
        self.expect_lookup()
        self.expect_status("running", "Build started.")
        await self.build_event("new")
        await self.sp.reconfigServiceWithSibling(GitLabStatusPush("NEW"))
        self.expect_lookup(token="NEW")
        self.expect_status("running", "Build started.", token="NEW")
        await self.build_event("new")

    async def test_server_error_retried(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.insert_build(repository=REPO)
        self.expect_lookup(code=502, content_json={})
        self.expect_lookup()
        self.expect_status("running", "Build started.")
        await self.build_event("new")
        self.assertLogged("answered 502")

    async def test_missing_secret(self) -> None:
        self.master.secrets_manager = FakeSecrets({})
        await self.start_reporter(GitLabStatusPush(Secret("nope")))
        await self.insert_build(repository=REPO)
        await self.build_event("new")
        self.assertLogged("cannot render the context or token")

    async def test_empty_report(self) -> None:
        await self.start_reporter(GitLabStatusPush("XXYYZZ"))
        await self.sp.sendMessage([{"builds": []}])
