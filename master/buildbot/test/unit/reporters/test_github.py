"""GitHubStatusPush and GitHubCommentPush over a fake master (DB, MQ, data API) with
the fake HTTPClientService: build events go through the real generators, and each
test pins the exact requests (URL, headers, JSON) the reporter makes."""

from __future__ import annotations

from typing import Any

from twisted.python import log
from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Secret
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SKIPPED, SUCCESS, WARNINGS
from buildbot.reporters import github
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator, BuildStatusGenerator
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from buildbot.reporters.github import GitHubCommentPush, GitHubStatusPush
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.fake import httpclientservice as fakehttp
from buildbot.test.reactor import TestReactorMixin
from buildbot.util.giturlparse import GitUrl, giturlparse

REVISION = "d34db33fd43db33f"
BUILD_URL = "http://localhost:8080/#/builders/79/builds/0"
GH_HEADERS = {"User-Agent": "Buildbot"}


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values.get(name)


def config_errors(cls: type, *args: Any, **kwargs: Any) -> list[str]:
    with config.capture_config_errors() as errors:
        cls(*args, **kwargs)
    return errors.errors


class ForgeReporterTestMixin(TestReactorMixin):
    """A fake master with builder 'Builder0' (id 79) and build 20 (#0) of request 11,
    buildset 98, on one sourcestamp; helpers to run build events through a reporter."""

    async def setup_master(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.logged: list[str] = []

        def observe(ev: dict[str, Any]) -> None:
            self.logged.append(log.textFromEventDict(ev) or "")

        log.addObserver(observe)
        self.addCleanup(log.removeObserver, observe)

    async def fake_http(self, base_url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", GH_HEADERS)
        return await fakehttp.HTTPClientService.getFakeService(
            self.master, self, base_url, **kwargs
        )

    async def start_reporter(self, reporter: Any) -> Any:
        self.sp = reporter
        await reporter.setServiceParent(self.master)
        return reporter

    async def insert_build(
        self,
        results: int | None = None,
        complete: bool = False,
        repository: str = "https://github.com/buildbot/buildbot",
        branch: str | None = "master",
        revision: str | None = REVISION,
        project: str = "buildbot",
        props: dict[str, Any] | None = None,
        sourcestamps: list[dict[str, Any]] | None = None,
    ) -> None:
        sourcestamps = sourcestamps or [
            {"repository": repository, "branch": branch, "revision": revision}
        ]
        rows: list[Any] = [
            fakedb.Master(id=92),
            fakedb.Worker(id=13, name="wrk"),
            fakedb.Builder(id=79, name="Builder0"),
            fakedb.Buildset(id=98, results=results, reason="testReason1"),
            fakedb.BuildRequest(id=11, buildsetid=98, builderid=79),
            fakedb.Build(
                id=20,
                number=0,
                builderid=79,
                buildrequestid=11,
                workerid=13,
                masterid=92,
                results=results if complete else None,
                complete_at=1300 if complete else None,
            ),
        ]
        for i, ss in enumerate(sourcestamps):
            rows.append(fakedb.SourceStamp(id=234 + i, project=project, codebase=f"cb{i}", **ss))
            rows.append(fakedb.BuildsetSourceStamp(buildsetid=98, sourcestampid=234 + i))
        all_props = {"buildername": "Builder0", "buildnumber": 0}
        if branch is not None:
            all_props["branch"] = branch
        all_props.update(props or {})
        import json

        for name, value in all_props.items():
            rows.append(
                fakedb.BuildProperty(buildid=20, name=name, value=json.dumps(value), source="t")
            )
        await self.master.db.insert_test_data(rows)

    async def build_event(self, event: str) -> None:
        """Deliver ('builds', 20, event) with the build as the data API has it, and wait
        until the reporter has handled it (time must not be needed)."""
        build = await self.master.data.get(("builds", 20))
        await self.master.mq.callConsumer(("builds", "20", event), dict(build))
        await self.settle()

    async def request_event(self, event: str = "new") -> None:
        br = await self.master.data.get(("buildrequests", 11))
        await self.master.mq.callConsumer(("buildrequests", "11", event), dict(br))
        await self.settle()

    async def settle(self) -> None:
        # a request the fake refuses is retried after 1 then 2 s: let that time pass,
        # so the test ends (and the fake reports the mismatch) instead of hanging
        self.reactor.pump([1, 2, 4])
        await self.sp.wait_idle()

    def assertLogged(self, text: str) -> None:
        self.assertTrue(any(text in m for m in self.logged), f"{text!r} not in {self.logged}")


class TestGitUrlParse(unittest.TestCase):
    def test_forms(self) -> None:
        cases = {
            "https://github.com/buildbot/buildbot": ("https", None, "github.com", None),
            "https://github.com/buildbot/buildbot.git": ("https", None, "github.com", None),
            "http://u@host:8080/buildbot/buildbot/": ("http", "u", "host", 8080),
            "git@github.com:buildbot/buildbot.git": ("", "git", "github.com", None),
            "ssh://git@github.com:2222/buildbot/buildbot": ("ssh", "git", "github.com", 2222),
            "git://github.com/buildbot/buildbot.git": ("git", None, "github.com", None),
        }
        for url, (proto, user, domain, port) in cases.items():
            self.assertEqual(
                giturlparse(url),
                GitUrl(proto, user, domain, port, "buildbot", "buildbot"),
                url,
            )

    def test_subgroups(self) -> None:
        got = giturlparse("git@gitlab.example.com:grp/sub/proj.git")
        assert got is not None
        self.assertEqual((got.owner, got.repo), ("grp/sub", "proj"))

    def test_not_remote(self) -> None:
        for url in [
            "",
            None,
            "/srv/git/repo",
            "file:///srv/git/repo",
            "https://host/onlyone",
            "relative/path",
        ]:
            self.assertIsNone(giturlparse(url), url)


class TestConfig(unittest.TestCase):
    def test_valid(self) -> None:
        self.assertEqual(config_errors(GitHubStatusPush, "tok"), [])
        self.assertEqual(
            config_errors(
                GitHubStatusPush,
                Secret("gh"),
                context=Interpolate("ci/%(prop:x)s"),
                baseURL="https://ghe.example.com/api/v3",
                verbose=True,
            ),
            [],
        )
        self.assertEqual(config_errors(GitHubCommentPush, token="tok"), [])

    def test_invalid(self) -> None:
        self.assertIn("token is required", config_errors(GitHubStatusPush)[0])
        self.assertIn("token", config_errors(GitHubStatusPush, 3)[0])
        self.assertIn("context", config_errors(GitHubStatusPush, "t", context=["x"])[0])
        self.assertIn("baseURL", config_errors(GitHubStatusPush, "t", baseURL="api.github")[0])
        self.assertIn("generators", config_errors(GitHubStatusPush, "t", generators="x")[0])

    def test_default_generators(self) -> None:
        sp = GitHubStatusPush("tok")
        gens = sp._create_default_generators()
        self.assertEqual(
            [type(g) for g in gens], [BuildRequestGenerator, BuildStartEndStatusGenerator]
        )
        comments = GitHubCommentPush("tok")._create_default_generators()
        self.assertEqual([type(g) for g in comments], [BuildStartEndStatusGenerator])

    def test_states(self) -> None:
        self.assertEqual(github.github_state({"complete": False}), "pending")
        expected = {
            SUCCESS: "success",
            WARNINGS: "success",
            SKIPPED: "success",
            FAILURE: "failure",
            EXCEPTION: "error",
            CANCELLED: "error",
            99: "error",
        }
        for results, state in expected.items():
            self.assertEqual(github.github_state({"complete": True, "results": results}), state)


class TestGitHubStatusPush(ForgeReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_master()
        self._http = await self.fake_http(github.HOSTED_BASE_URL)

    def expect_status(self, state: str, description: str, code: int = 201, **kw: Any) -> None:
        payload = {
            "state": state,
            "target_url": kw.pop("target_url", BUILD_URL),
            "description": description,
            "context": kw.pop("context", "buildbot/Builder0"),
        }
        self._http.expect(
            "post",
            kw.pop("ep", f"/repos/buildbot/buildbot/statuses/{REVISION}"),
            json=payload,
            headers={"Authorization": kw.pop("auth", "token XXYYZZ")},
            code=code,
            **kw,
        )

    async def test_pending_when_requested(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        self.expect_status(
            "pending", "Build pending.", target_url="http://localhost:8080/#/buildrequests/11"
        )
        await self.request_event("new")

    async def test_request_cancelled(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        self.expect_status(
            "error", "Build pending.", target_url="http://localhost:8080/#/buildrequests/11"
        )
        await self.request_event("cancel")

    async def test_started(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        self.expect_status("pending", "Build started.")
        await self.build_event("new")

    async def check_finished(self, results: int, state: str) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build(results=results, complete=True)
        self.expect_status(state, "Build done.")
        await self.build_event("finished")

    async def test_success(self) -> None:
        await self.check_finished(SUCCESS, "success")

    async def test_failure(self) -> None:
        await self.check_finished(FAILURE, "failure")

    async def test_exception(self) -> None:
        await self.check_finished(EXCEPTION, "error")

    async def test_cancelled(self) -> None:
        await self.check_finished(CANCELLED, "error")

    async def test_repository_url_forms(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        forms = [
            "git@github.com:buildbot/buildbot.git",
            "ssh://git@github.com/buildbot/buildbot.git",
            "https://github.com/buildbot/buildbot.git",
        ]
        await self.insert_build(
            sourcestamps=[
                {"repository": r, "branch": "master", "revision": f"{i}" * 8}
                for i, r in enumerate(forms)
            ]
        )
        for i in range(len(forms)):
            self.expect_status(
                "pending",
                "Build started.",
                ep=f"/repos/buildbot/buildbot/statuses/{i}{i}{i}{i}{i}{i}{i}{i}",
            )
        await self.build_event("new")

    async def test_project_fallback_and_skips(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build(
            project="owner/proj",
            sourcestamps=[
                {"repository": "/srv/git/local", "branch": "master", "revision": "abc"},
                {"repository": "https://github.com/o/r", "branch": "master", "revision": None},
            ],
        )
        self.expect_status("pending", "Build started.", ep="/repos/owner/proj/statuses/abc")
        await self.build_event("new")
        self.assertLogged("no revision")

    async def test_not_a_github_repository(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build(repository="/srv/git/local")
        await self.build_event("new")
        self.assertLogged("not a GitHub repository URL")

    async def test_custom_context_base_url_and_secret_token(self) -> None:
        http = await self.fake_http("https://ghe.example.com/api/v3")
        self.master.secrets_manager = FakeSecrets({"ghtoken": "s3cr3t"})
        await self.start_reporter(
            GitHubStatusPush(
                Secret("ghtoken"),
                context=Interpolate("ci/%(prop:branch)s"),
                baseURL="https://ghe.example.com/api/v3/",
                verbose=True,
            )
        )
        await self.insert_build()
        http.expect(
            "post",
            f"/repos/buildbot/buildbot/statuses/{REVISION}",
            json={
                "state": "pending",
                "target_url": BUILD_URL,
                "description": "Build started.",
                "context": "ci/master",
            },
            headers={"Authorization": "token s3cr3t"},
        )
        await self.build_event("new")
        self.assertLogged('updated status with "pending" for buildbot/buildbot')

    async def test_missing_secret_logged(self) -> None:
        self.master.secrets_manager = FakeSecrets({})
        await self.start_reporter(GitHubStatusPush(Secret("nope")))
        await self.insert_build()
        await self.build_event("new")
        self.assertLogged("cannot render the context or token")

    async def test_reconfig_new_token(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        self.expect_status("pending", "Build started.")
        await self.build_event("new")
        await self.sp.reconfigServiceWithSibling(GitHubStatusPush("NEWTOKEN"))
        self.expect_status("pending", "Build started.", auth="token NEWTOKEN")
        await self.build_event("new")

    async def test_custom_generators(self) -> None:
        from buildbot.reporters.message import MessageFormatterRenderable

        gen = BuildStatusGenerator(
            mode="all",
            message_formatter=MessageFormatterRenderable(
                Interpolate("%(prop:buildername)s finished")
            ),
        )
        await self.start_reporter(GitHubStatusPush("XXYYZZ", generators=[gen]))
        await self.insert_build(results=WARNINGS, complete=True)
        self.expect_status("success", "Builder0 finished")
        await self.build_event("finished")

    async def test_server_error_retried_with_backoff(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build(results=FAILURE, complete=True)
        self.expect_status("failure", "Build done.", code=502)
        self.expect_status("failure", "Build done.", code=503)
        self.expect_status("failure", "Build done.")
        build = await self.master.data.get(("builds", 20))
        await self.master.mq.callConsumer(("builds", "20", "finished"), dict(build))
        idle = self.sp.wait_idle()
        self.assertNoResult(idle)
        self.reactor.advance(1)
        self.assertNoResult(idle)
        self.reactor.advance(2)
        await idle
        self.assertLogged("answered 502; retrying in 1s")

    async def test_gives_up_and_logs(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build(results=FAILURE, complete=True)
        for _ in range(3):
            self.expect_status("failure", "Build done.", code=500, content="oops")
        build = await self.master.data.get(("builds", 20))
        await self.master.mq.callConsumer(("builds", "20", "finished"), dict(build))
        self.reactor.pump([1, 2])
        await self.sp.wait_idle()
        self.assertLogged("HTTP 500: oops")

    async def test_client_error_not_retried(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        self.expect_status(
            "pending", "Build started.", code=422, content_json={"message": "Validation Failed"}
        )
        await self.build_event("new")
        self.assertLogged("HTTP 422")
        self.assertLogged("Validation Failed")

    async def test_connection_error_retried(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.insert_build()
        real_post = self.sp._http.post
        calls: list[str] = []

        def flaky_post(ep: str, **kwargs: Any) -> Any:
            calls.append(ep)
            if len(calls) < 3:
                raise ConnectionRefusedError("no route")
            return real_post(ep, **kwargs)

        self.sp._http.post = flaky_post
        self.expect_status("pending", "Build started.")
        build = await self.master.data.get(("builds", 20))
        await self.master.mq.callConsumer(("builds", "20", "new"), dict(build))
        self.reactor.pump([1, 2])
        await self.sp.wait_idle()
        self.assertEqual(len(calls), 3)

        # three refusals: given up, logged, and the next event is still reported
        calls.clear()
        self.sp._http.post = lambda ep, **kw: (
            calls.append(ep) or (_ for _ in ()).throw(ConnectionRefusedError("down"))
        )
        await self.master.mq.callConsumer(("builds", "20", "new"), dict(build))
        self.reactor.pump([1, 2])
        await self.sp.wait_idle()
        self.assertEqual(len(calls), 3)
        self.assertLogged("failed: ConnectionRefusedError('down')")

    async def test_empty_report_ignored(self) -> None:
        await self.start_reporter(GitHubStatusPush("XXYYZZ"))
        await self.sp.sendMessage([{"builds": [], "body": "x"}])
        await self.sp.sendMessage([{"builds": [{"complete": False, "buildset": None}]}])


class TestGitHubCommentPush(ForgeReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_master()
        self._http = await self.fake_http(github.HOSTED_BASE_URL)

    def expect_comment(self, issue: str, body: str) -> None:
        self._http.expect(
            "post",
            f"/repos/buildbot/buildbot/issues/{issue}/comments",
            json={"body": body},
            headers={"Authorization": "token XXYYZZ"},
        )

    async def test_comment_on_pull_request_branch(self) -> None:
        await self.start_reporter(GitHubCommentPush("XXYYZZ"))
        await self.insert_build(results=SUCCESS, complete=True, branch="refs/pull/42/merge")
        await self.build_event("new")  # no comment when a build starts
        self.expect_comment("42", "Build done.")
        await self.build_event("finished")

    async def test_comment_from_pullrequesturl(self) -> None:
        await self.start_reporter(GitHubCommentPush("XXYYZZ"))
        await self.insert_build(
            results=FAILURE,
            complete=True,
            branch="feature",
            props={"pullrequesturl": "https://github.com/buildbot/buildbot/pull/7"},
        )
        self.expect_comment("7", "Build done.")
        await self.build_event("finished")

    async def test_not_a_pull_request(self) -> None:
        await self.start_reporter(GitHubCommentPush("XXYYZZ"))
        await self.insert_build(
            results=SUCCESS,
            complete=True,
            branch="master",
            props={"pullrequesturl": "https://example.com/no"},
        )
        await self.build_event("finished")
        self.assertLogged("not from a pull request")
