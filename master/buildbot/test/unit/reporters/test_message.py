from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters import message, utils
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin


class MessageFormatterTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds()

    async def build(self, formatter: Any, buildid: int = 22) -> dict[str, Any]:
        build = await self.get_build(buildid)
        await utils.getDetailsForBuild(
            self.master,
            build,
            want_properties=formatter.want_properties,
            want_steps=formatter.want_steps,
            want_logs=formatter.want_logs,
            want_previous_build=True,
        )
        return build

    async def test_default_plain(self) -> None:
        f = message.MessageFormatter()
        self.assertTrue(f.want_steps and f.want_logs and f.want_properties)
        build = await self.build(f)
        msg = await f.format_message_for_build(
            self.master, build, users=["bob"], mode=("change", "failing")
        )
        self.assertEqual(msg["type"], "plain")
        self.assertEqual(msg["subject"], "Buildbot FAILURE in Example CI on b5")
        body = msg["body"]
        self.assertIn("Buildbot found a new failure on builder b5 while building proj.", body)
        self.assertIn("Details: http://bb.example/#/builders/5/builds/3", body)
        self.assertIn("Worker: w3", body)
        self.assertIn("Blamelist: bob", body)
        self.assertIn("BUILD FAILED: failed compile", body)
        self.assertIn("0. compile: failure", body)
        self.assertIn("stdio: http://bb.example/#/builders/5/builds/3/steps/0/logs/stdio", body)
        self.assertIsNone(msg["extra_info"])

    async def test_default_html_escapes(self) -> None:
        f = message.MessageFormatter(template_type="html")
        build = await self.build(f)
        build["builder"]["name"] = "<b5>"
        msg = await f.format_message_for_build(self.master, build, mode=("failing",))
        self.assertEqual(msg["type"], "html")
        self.assertIn("&lt;b5&gt;", msg["body"])
        self.assertIn(
            '<a href="http://bb.example/#/builders/5/builds/3/steps/0/logs/stdio">', msg["body"]
        )
        # subjects are plain text
        self.assertEqual(msg["subject"], "Buildbot FAILURE in Example CI on <b5>")

    async def test_custom_template_ctx_and_extra_info(self) -> None:
        class Mine(message.MessageFormatter):
            def buildAdditionalContext(self, master: Any, ctx: dict) -> None:
                super().buildAdditionalContext(master, ctx)
                ctx["extra"] = "more"

        f = Mine(
            template="{{ buildername }} {{ results }} {{ previous_results }} {{ greeting }}"
            " {{ extra }} {{ is_buildset }} {{ workername }} {{ sourcestamps }}",
            subject="S: {{ build['number'] }}",
            ctx={"greeting": "hi"},
            extra_info_cb=lambda ctx: {"k": {"v": ctx["buildername"]}},
        )
        self.assertFalse(f.want_steps)
        build = await self.build(f)
        msg = await f.format_message_for_build(self.master, build)
        self.assertEqual(msg["body"], "b5 2 0 hi more False w3 repo main abc")
        self.assertEqual(msg["subject"], "S: 3")
        self.assertEqual(msg["extra_info"], {"k": {"v": "b5"}})

    async def test_buildset_message_joins_builds(self) -> None:
        f = message.MessageFormatter(
            template="[{{ build['number'] }}]",
            extra_info_cb=lambda ctx: {"a": {str(ctx["build"]["number"]): 1}},
        )
        b1, b3 = await self.build(f, 20), await self.build(f, 22)
        bs = b1["buildset"]
        msg = await f.format_message_for_buildset(self.master, bs, [b1, b3], mode=("all",))
        self.assertEqual(msg["body"], "[1][3]")
        self.assertEqual(msg["subject"], "Buildbot SUCCESS in Example CI on b5")
        self.assertEqual(msg["extra_info"], {"a": {"1": 1, "3": 1}})
        empty = await f.format_message_for_buildset(self.master, bs, [])
        self.assertEqual((empty["body"], empty["subject"]), ("", None))

    def test_bad_arguments(self) -> None:
        for kwargs in (
            {"template_type": "xml"},
            {"template_type": "json"},
            {"template": 3},
            {"subject": 3},
            {"extra_info_cb": 3},
            {"template": "{% if %}"},
        ):
            with self.assertRaises(config.ConfigErrors, msg=str(kwargs)):
                with config.capture_config_errors(raise_on_error=True):
                    message.MessageFormatter(**kwargs)
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                message.MessageFormatterFunction(3, "json")
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                message.MessageFormatterFunctionRaw(3)

    async def test_function(self) -> None:
        f = message.MessageFormatterFunction(lambda ctx: {"n": ctx["build"]["number"]}, "json")
        build = await self.build(f)
        msg = await f.format_message_for_build(self.master, build)
        self.assertEqual(
            msg, {"body": {"n": 3}, "type": "json", "subject": None, "extra_info": None}
        )

    async def test_function_buildset_context(self) -> None:
        f = message.MessageFormatterFunction(
            lambda ctx: [b["number"] for b in ctx["builds"]], "json"
        )
        build = await self.build(f)
        msg = await f.format_message_for_buildset(self.master, build["buildset"], [build])
        self.assertEqual(msg["body"], [3])

    async def test_function_raw(self) -> None:
        def fn(master: Any, ctx: dict) -> dict:
            return {"body": ctx["buildername"], "subject": "s", "extra_info": {"x": {}}}

        f = message.MessageFormatterFunctionRaw(fn)
        build = await self.build(f)
        msg = await f.format_message_for_build(self.master, build)
        self.assertEqual(
            msg, {"body": "b5", "type": "plain", "subject": "s", "extra_info": {"x": {}}}
        )

    async def test_renderable(self) -> None:
        f = message.MessageFormatterRenderable(
            Interpolate("done on %(prop:workername)s"), subject=Interpolate("S %(prop:branch)s")
        )
        build = await self.build(f)
        msg = await f.format_message_for_build(self.master, build)
        self.assertEqual(
            msg, {"body": "done on w3", "type": "plain", "subject": "S main", "extra_info": None}
        )
        msg = await f.format_message_for_buildset(self.master, build["buildset"], [build])
        self.assertEqual(msg["body"], "done on w3")
        plain = message.MessageFormatterRenderable("Build done.")
        msg = await plain.format_message_for_build(self.master, {})
        self.assertEqual((msg["body"], msg["subject"]), ("Build done.", None))

    async def test_empty(self) -> None:
        f = message.MessageFormatterEmpty()
        build = await self.build(f)
        msg = await f.format_message_for_build(self.master, build)
        self.assertEqual(msg, {"body": None, "type": "plain", "subject": None, "extra_info": None})

    async def test_missing_worker(self) -> None:
        worker = {
            "workerid": 3,
            "name": "w3",
            "workerinfo": {"admin": "Ada <ada@example.org>"},
            "last_connection": "Mon",
            "notify": ["ops@example.org"],
        }
        msg = await message.MessageFormatterMissingWorker().format_message_for_missing_worker(
            self.master, worker
        )
        self.assertEqual(msg["subject"], "Buildbot Example CI worker w3 missing")
        self.assertIn(
            "The worker w3 of Buildbot Example CI has been disconnected since Mon", msg["body"]
        )
        self.assertIn("Details: http://bb.example/#/workers/3", msg["body"])
        self.assertIn("Administrator: Ada <ada@example.org>", msg["body"])
        html = await message.MessageFormatterMissingWorker(
            template_type="html"
        ).format_message_for_missing_worker(self.master, worker)
        self.assertIn("Ada &lt;ada@example.org&gt;", html["body"])
        custom = await message.MessageFormatterMissingWorker(
            template="{{ worker.name }} gone", subject="gone"
        ).format_message_for_missing_worker(self.master, worker)
        self.assertEqual((custom["body"], custom["subject"]), ("w3 gone", "gone"))


class StatusTextTests(unittest.TestCase):
    def test_detected(self) -> None:
        t = message.get_detected_status_text
        self.assertEqual(t(("change",), FAILURE, SUCCESS), "new failure")
        self.assertEqual(t(("problem",), FAILURE, None), "failed build")
        self.assertEqual(t(("failing",), FAILURE, SUCCESS), "failed build")
        self.assertEqual(t(None, WARNINGS, None), "problem in the build")
        self.assertEqual(t(("change",), SUCCESS, FAILURE), "restored build")
        self.assertEqual(t(("passing",), SUCCESS, FAILURE), "passing build")
        self.assertEqual(t((), EXCEPTION, None), "build exception")
        self.assertEqual(t((), CANCELLED, None), "cancelled build")
        self.assertEqual(t((), None, None), "pending build")

    def test_summary(self) -> None:
        s = message.get_message_summary_text
        self.assertEqual(s({}, SUCCESS), "Build succeeded!")
        self.assertEqual(s({"state_string": "x"}, WARNINGS), "Build had warnings: x")
        self.assertEqual(s({}, CANCELLED), "Build was cancelled")
        self.assertEqual(s({}, None), "Build in progress")
        self.assertEqual(s({}, FAILURE), "BUILD FAILED")
