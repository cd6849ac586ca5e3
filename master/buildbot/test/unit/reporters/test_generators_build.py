from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.reporters.generators.build import BuildStartEndStatusGenerator, BuildStatusGenerator
from buildbot.reporters.generators.utils import normalize_mode
from buildbot.reporters.message import MessageFormatter, MessageFormatterRenderable
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin


class FakeReporter:
    def getResponsibleUsersForBuild(self, master: Any, buildid: int) -> list[str]:
        return ["u1"]


def check_fails(**kwargs: Any) -> None:
    with config.capture_config_errors(raise_on_error=True):
        BuildStatusGenerator(**kwargs).check()


class BuildStatusGeneratorTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()

    async def generate(self, gen: Any, event: str = "finished", buildid: int = 22) -> Any:
        msg = await self.get_build(buildid)
        report = await gen.generate(
            self.master, FakeReporter(), ("builds", str(buildid), event), msg
        )
        self.assertNotIn("builder", msg)  # the MQ message is not modified
        return report

    def test_modes(self) -> None:
        self.assertEqual(
            normalize_mode("all"), ("failing", "passing", "warnings", "exception", "cancelled")
        )
        self.assertEqual(normalize_mode("warnings"), ("failing", "warnings"))
        self.assertEqual(normalize_mode("change"), ("change",))
        self.assertEqual(normalize_mode(["problem", "passing"]), ("problem", "passing"))
        self.assertEqual(BuildStatusGenerator().mode, ("failing", "passing", "warnings"))

    def test_check(self) -> None:
        BuildStatusGenerator(mode="all", builders=["a"], add_logs=["x"]).check()
        for kwargs in (
            {"mode": "bogus"},
            {"mode": ("passing", "nope")},
            {"builders": ["a"], "tags": ["t"]},
            {"builders": "a"},
            {"tags": [1]},
            {"schedulers": "s"},
            {"branches": 3},
            {"subject": 3},
            {"add_logs": "stdio"},
        ):
            with self.assertRaises(config.ConfigErrors, msg=str(kwargs)):
                check_fails(**kwargs)
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                BuildStatusGenerator(message_formatter="nope")

    async def test_report_contents(self) -> None:
        await self.insert_builds(results3=FAILURE)
        gen = BuildStatusGenerator(add_logs=True, add_patch=True)
        report = await self.generate(gen)
        self.assertEqual(report["subject"], "Buildbot FAILURE in Example CI on b5")
        self.assertIn("Buildbot found a failed build on builder b5", report["body"])
        self.assertEqual(report["type"], "plain")
        self.assertEqual(report["results"], FAILURE)
        [build] = report["builds"]
        self.assertEqual(build["buildid"], 22)
        self.assertEqual(build["properties"]["owner"], ("bob", "Force"))
        self.assertEqual(report["buildset"]["bsid"], 10)
        self.assertEqual(report["users"], ["u1"])
        [patch] = report["patches"]
        self.assertEqual(patch["author"], "me")
        [lg] = report["logs"]
        self.assertEqual((lg["stepname"], lg["name"]), ("compile", "stdio"))
        self.assertEqual(lg["content"]["content"], "line one\nline two\n")
        self.assertIsNone(report["worker"])
        self.assertNotIn("prev_build", build)

    async def test_no_patch_no_logs_by_default(self) -> None:
        await self.insert_builds()
        report = await self.generate(BuildStatusGenerator())
        self.assertEqual((report["patches"], report["logs"]), ([], []))

    async def check_mode(self, mode: Any, results: int, prev: int, expected: bool) -> None:
        gen = BuildStatusGenerator(mode=mode, message_formatter=MessageFormatterRenderable("x"))
        build = {"results": results, "prev_build": {"results": prev}}
        self.assertEqual(gen.is_message_needed_by_results(build), expected, (mode, results, prev))

    async def test_results_filter(self) -> None:
        cases = [
            ("failing", FAILURE, SUCCESS, True),
            ("failing", SUCCESS, SUCCESS, False),
            ("passing", SUCCESS, SUCCESS, True),
            ("passing", WARNINGS, SUCCESS, False),
            ("warnings", WARNINGS, SUCCESS, True),
            ("warnings", FAILURE, SUCCESS, True),
            ("warnings", SUCCESS, SUCCESS, False),
            ("exception", EXCEPTION, SUCCESS, True),
            ("cancelled", CANCELLED, SUCCESS, True),
            ("all", CANCELLED, SUCCESS, True),
            ("all", SUCCESS, SUCCESS, True),
            ("change", SUCCESS, FAILURE, True),
            ("change", FAILURE, SUCCESS, True),
            ("change", FAILURE, FAILURE, False),
            ("problem", FAILURE, SUCCESS, True),
            ("problem", FAILURE, FAILURE, False),
            ("problem", SUCCESS, FAILURE, False),
        ]
        for mode, results, prev, expected in cases:
            await self.check_mode(mode, results, prev, expected)
        gen = BuildStatusGenerator(mode="change")
        self.assertFalse(gen.is_message_needed_by_results({"results": SUCCESS, "prev_build": None}))

    async def test_change_mode_uses_previous_build(self) -> None:
        # build #1 passed, #2 was a retry, #3 fails: a change
        await self.insert_builds(results3=FAILURE)
        gen = BuildStatusGenerator(mode="change", message_formatter=MessageFormatterRenderable("c"))
        report = await self.generate(gen)
        self.assertEqual(report["body"], "c")
        self.assertEqual(report["builds"][0]["prev_build"]["number"], 1)

    async def test_change_mode_no_change(self) -> None:
        await self.insert_builds(results3=SUCCESS)
        gen = BuildStatusGenerator(mode="change")
        self.assertIsNone(await self.generate(gen))

    async def test_report_new(self) -> None:
        await self.insert_builds(results3=None)
        gen = BuildStatusGenerator(
            report_new=True, message_formatter=MessageFormatterRenderable("started")
        )
        self.assertEqual(
            gen.wanted_event_keys, [("builds", None, "new"), ("builds", None, "finished")]
        )
        report = await self.generate(gen, "new")
        self.assertEqual(report["body"], "started")
        self.assertIsNone(report["results"])
        self.assertEqual(BuildStatusGenerator().wanted_event_keys, [("builds", None, "finished")])

    async def test_property_filters(self) -> None:
        await self.insert_builds()
        formatter = MessageFormatter(want_properties=False, template="x")
        cases = [
            ({"builders": ["b5"]}, True),
            ({"builders": ["b6"]}, False),
            ({"tags": ["fast", "slow"]}, True),
            ({"tags": ["slow"]}, False),
            ({"schedulers": ["sched"]}, True),
            ({"schedulers": ["other"]}, False),
            ({"branches": ["main"]}, True),
            ({"branches": ["dev"]}, False),
        ]
        for kwargs, expected in cases:
            gen = BuildStatusGenerator(mode="all", message_formatter=formatter, **kwargs)
            report = await self.generate(gen)
            self.assertEqual(report is not None, expected, kwargs)

    async def test_subject_fallback(self) -> None:
        await self.insert_builds()
        gen = BuildStatusGenerator(
            message_formatter=MessageFormatterRenderable("body"), subject="fixed"
        )
        report = await self.generate(gen)
        self.assertEqual(report["subject"], "fixed")


class BuildStartEndTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds(results3=WARNINGS)

    async def test_start_and_end(self) -> None:
        gen = BuildStartEndStatusGenerator()
        self.assertEqual(
            gen.wanted_event_keys, [("builds", None, "new"), ("builds", None, "finished")]
        )
        msg = await self.get_build()
        start = await gen.generate(self.master, FakeReporter(), ("builds", "22", "new"), msg)
        end = await gen.generate(self.master, FakeReporter(), ("builds", "22", "finished"), msg)
        self.assertEqual(start["body"], "Build started.")
        self.assertEqual(end["body"], "Build done.")
        self.assertEqual(end["results"], WARNINGS)
        self.assertEqual(end["builds"][0]["url"], "http://bb.example/#/builders/5/builds/3")

    async def test_custom_formatters_and_filter(self) -> None:
        gen = BuildStartEndStatusGenerator(
            builders=["b5"],
            start_formatter=MessageFormatterRenderable("go"),
            end_formatter=MessageFormatterRenderable("stop"),
        )
        msg = await self.get_build()
        end = await gen.generate(self.master, FakeReporter(), ("builds", "22", "finished"), msg)
        self.assertEqual(end["body"], "stop")
        other = BuildStartEndStatusGenerator(builders=["b6"])
        self.assertIsNone(
            await other.generate(self.master, FakeReporter(), ("builds", "22", "new"), msg)
        )
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                BuildStartEndStatusGenerator(start_formatter=object())
