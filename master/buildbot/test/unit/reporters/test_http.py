from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.results import FAILURE
from buildbot.reporters import utils
from buildbot.reporters.generators.build import BuildStatusGenerator
from buildbot.reporters.http import HttpStatusPush, _jsonable
from buildbot.reporters.message import MessageFormatterFunction
from buildbot.test.fake import httpclientservice as fakehttp
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin

URL = "http://status.example/push"


class HttpStatusPushTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds(results3=FAILURE)

    async def fake(self, url: str = URL, **kwargs: Any) -> Any:
        return await fakehttp.HTTPClientService.getFakeService(self.master, self, url, **kwargs)

    async def start(self, *args: Any, **kwargs: Any) -> HttpStatusPush:
        reporter = HttpStatusPush(*args, **kwargs)
        await reporter.setServiceParent(self.master)
        return reporter

    async def expected_build(self) -> dict[str, Any]:
        build = await self.get_build()
        await utils.getDetailsForBuild(self.master, build, want_properties=True)
        # what the JSON body carries: tuples as lists, bytes as text
        return _jsonable(build)

    async def finish_build(self, reporter: HttpStatusPush, event: str = "finished") -> None:
        self.master.mq.produce(("builds", "22", event), await self.get_build())
        await self.flush()

    async def test_default_posts_build_on_new_and_finished(self) -> None:
        http = await self.fake()
        reporter = await self.start(URL)
        expected = await self.expected_build()
        http.expect("post", "", json=expected)
        http.expect("post", "", json=expected)
        await self.finish_build(reporter, "new")
        await self.finish_build(reporter)
        await reporter.wait_idle()
        self.assertEqual(expected["builder"]["name"], "b5")
        self.assertEqual(expected["properties"]["owner"], ["bob", "Force"])
        self.assertEqual(expected["buildset"]["sourcestamps"][0]["patch"]["body"], "hello")

    async def test_settings_reach_the_client(self) -> None:
        await self.fake(
            auth=("user", "pw"),
            headers={"X-Token": "t"},
            debug=True,
            verify=False,
            skipEncoding=True,
        )
        reporter = await self.start(
            URL,
            auth=("user", "pw"),
            headers={"X-Token": "t"},
            debug=True,
            verify=False,
            cert="/c.pem",
            skip_encoding=True,
        )
        self.assertEqual(reporter._http.cert, "/c.pem")
        self.assertTrue(reporter._http.skip_encoding)
        self.assertEqual(reporter._http.headers, {"X-Token": "t"})

    async def test_retried_on_500_then_sent(self) -> None:
        http = await self.fake()
        reporter = await self.start(URL)
        expected = await self.expected_build()
        http.expect("post", "", json=expected, code=500)
        http.expect("post", "", json=expected, code=503)
        http.expect("post", "", json=expected, code=201)
        await self.finish_build(reporter)
        idle = reporter.wait_idle()
        self.assertNoResult(idle)
        self.reactor.advance(1)
        self.assertNoResult(idle)
        self.reactor.advance(2)
        await idle
        http.assert_all_consumed()

    async def test_gives_up_and_logs(self) -> None:
        http = await self.fake()
        reporter = await self.start(URL)
        expected = await self.expected_build()
        for _ in range(3):
            http.expect("post", "", json=expected, code=500, content="down")
        await self.finish_build(reporter)
        self.reactor.advance(1)
        self.reactor.advance(2)
        await reporter.wait_idle()
        # the next build is reported as usual
        http.expect("post", "", json=expected, code=400, content="bad")
        await self.finish_build(reporter)
        await reporter.wait_idle()
        self.assertEqual(self.flushLoggedErrors(), [])

    async def test_connection_errors_retried_then_logged(self) -> None:
        await self.fake()
        reporter = await self.start(URL)
        attempts = []

        def post(ep: str, **kwargs: Any) -> Any:
            attempts.append(ep)
            raise ConnectionRefusedError()

        reporter._http.post = post
        await self.finish_build(reporter)
        self.reactor.advance(1)
        self.reactor.advance(2)
        await reporter.wait_idle()
        self.assertEqual(len(attempts), 3)
        self.assertEqual(self.flushLoggedErrors(), [])

    async def test_reconfig_new_url_and_generators(self) -> None:
        await self.fake()
        http2 = await self.fake("http://other.example/")
        reporter = await self.start(URL, name="push")
        gen = BuildStatusGenerator(
            mode="failing",
            message_formatter=MessageFormatterFunction(
                lambda ctx: {"n": ctx["build"]["number"]}, "json"
            ),
        )
        sibling = HttpStatusPush("http://other.example/", generators=[gen], name="push")
        await reporter.reconfigServiceWithSibling(sibling)
        http2.expect("post", "", json={"n": 3})
        # 'new' is no longer reported
        await self.finish_build(reporter, "new")
        await self.finish_build(reporter)
        await reporter.wait_idle()

    def test_check_config(self) -> None:
        for args, kwargs in (
            (("",), {}),
            ((3,), {}),
            ((URL,), {"auth": ("a",)}),
            ((URL,), {"headers": ["x"]}),
            ((URL,), {"generators": [object()]}),
        ):
            with self.assertRaises(config.ConfigErrors, msg=repr((args, kwargs))):
                with config.capture_config_errors(raise_on_error=True):
                    HttpStatusPush(*args, **kwargs)

    def test_jsonable(self) -> None:
        self.assertEqual(
            _jsonable({"a": (1, b"x", b"\xff"), 2: [{"b": None}]}),
            {"a": [1, "x", None], "2": [{"b": None}]},
        )
