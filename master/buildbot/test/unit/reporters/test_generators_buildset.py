from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.reporters.generators.buildset import (
    BuildSetCombinedStatusGenerator,
    BuildSetStatusGenerator,
)
from buildbot.reporters.message import MessageFormatter, MessageFormatterFunction
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin


class FakeReporter:
    def getResponsibleUsersForBuild(self, master: Any, buildid: int) -> list[str]:
        return {20: ["a"], 21: ["a", "b"], 22: ["c"]}[buildid]


class BuildSetGeneratorTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds(results3=FAILURE)

    async def generate(self, gen: Any) -> Any:
        bs = await self.master.data.get(("buildsets", 10))
        return await gen.generate(self.master, FakeReporter(), ("buildsets", "10", "complete"), bs)

    async def test_failing_builds_only(self) -> None:
        gen = BuildSetStatusGenerator(
            mode="failing",
            message_formatter=MessageFormatter(template="[{{ build['number'] }}]"),
            add_patch=True,
            add_logs=True,
        )
        self.assertEqual(gen.wanted_event_keys, [("buildsets", None, "complete")])
        report = await self.generate(gen)
        self.assertEqual(report["body"], "[3]")
        self.assertEqual([b["number"] for b in report["builds"]], [3])
        self.assertEqual(report["results"], FAILURE)
        self.assertEqual(report["buildset"]["bsid"], 10)
        self.assertEqual(report["users"], ["c"])
        self.assertEqual(len(report["patches"]), 1)
        self.assertEqual([lg["name"] for lg in report["logs"]], ["stdio"])

    async def test_all_and_subject(self) -> None:
        gen = BuildSetStatusGenerator(
            mode=("failing", "passing"),
            subject="fallback",
            message_formatter=MessageFormatterFunction(lambda ctx: ctx["build"]["number"], "json"),
        )
        report = await self.generate(gen)
        self.assertEqual([b["number"] for b in report["builds"]], [1, 3])
        self.assertEqual(report["users"], ["a", "c"])
        self.assertEqual(report["subject"], "fallback")
        self.assertEqual(report["body"], [1, 3])
        gen.formatter = MessageFormatter(
            template="{{ is_buildset }}",
            extra_info_cb=lambda ctx: {"n": {ctx["build"]["number"]: 1}},
        )
        report = await self.generate(gen)
        self.assertEqual(report["body"], "TrueTrue")
        self.assertEqual(report["extra_info"], {"n": {1: 1, 3: 1}})
        self.assertEqual(report["subject"], "Buildbot SUCCESS in Example CI on b5")
        gen.mode = ("failing",)
        gen.formatter = MessageFormatterFunction(lambda ctx: {"n": 3}, "json")
        report = await self.generate(gen)
        self.assertEqual(report["body"], {"n": 3})
        self.assertEqual(report["patches"], [])

    async def test_nothing_to_report(self) -> None:
        gen = BuildSetStatusGenerator(mode="exception")
        self.assertIsNone(await self.generate(gen))
        gen = BuildSetStatusGenerator(builders=["b6"])
        self.assertIsNone(await self.generate(gen))

    async def test_combined(self) -> None:
        seen: list[Any] = []

        def fn(ctx: dict) -> str:
            seen.append(ctx)
            return ",".join(str(b["results"]) for b in ctx["builds"])

        gen = BuildSetCombinedStatusGenerator(MessageFormatterFunction(fn, "plain"))
        gen.check()
        report = await self.generate(gen)
        self.assertEqual(report["body"], f"{SUCCESS},5,{FAILURE}")
        self.assertEqual(report["results"], FAILURE)
        self.assertEqual(len(report["builds"]), 3)
        self.assertEqual(report["users"], ["a", "b", "c"])
        self.assertTrue(seen[0]["is_buildset"])
        self.assertEqual(seen[0]["buildset"]["bsid"], 10)

    def test_combined_needs_formatter(self) -> None:
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                BuildSetCombinedStatusGenerator(None)
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                BuildSetStatusGenerator(message_formatter=3)
