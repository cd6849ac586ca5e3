from __future__ import annotations

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Interpolate
from buildbot.process.results import CANCELLED
from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
from buildbot.reporters.message import MessageFormatterRenderable
from buildbot.test import fakedb
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin


class BuildRequestGeneratorTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds()
        await self.master.db.insert_test_data(
            [fakedb.BuildRequest(id=14, buildsetid=10, builderid=5)]
        )

    async def test_pending(self) -> None:
        gen = BuildRequestGenerator(add_patch=True)
        self.assertEqual(
            gen.wanted_event_keys,
            [("buildrequests", None, "new"), ("buildrequests", None, "cancel")],
        )
        msg = await self.master.data.get(("buildrequests", 14))
        report = await gen.generate(self.master, None, ("buildrequests", "14", "new"), msg)
        self.assertEqual(report["body"], "Build pending.")
        self.assertIsNone(report["results"])
        [build] = report["builds"]
        self.assertEqual(build["builder"]["name"], "b5")
        self.assertEqual(build["url"], "http://bb.example/#/buildrequests/14")
        self.assertEqual(build["properties"]["scheduler"], ("sched", "Scheduler"))
        self.assertIsNone(build["buildid"])
        self.assertEqual(report["buildset"]["bsid"], 10)
        self.assertEqual(len(report["patches"]), 1)
        self.assertEqual(report["users"], [])

    async def test_cancelled_and_formatter(self) -> None:
        gen = BuildRequestGenerator(
            formatter=MessageFormatterRenderable(Interpolate("%(prop:scheduler)s waits"))
        )
        report = await gen.generate(self.master, None, ("buildrequests", "14", "cancel"), None)
        self.assertEqual(report["body"], "sched waits")
        self.assertEqual(report["results"], CANCELLED)
        self.assertTrue(report["builds"][0]["complete"])

    async def test_filters(self) -> None:
        for kwargs, wanted in (
            ({"builders": ["b6"]}, False),
            ({"tags": ["fast"]}, True),
            ({"schedulers": ["sched"]}, True),
            ({"schedulers": ["other"]}, False),
        ):
            gen = BuildRequestGenerator(**kwargs)
            report = await gen.generate(self.master, None, ("buildrequests", "14", "new"), {})
            self.assertEqual(report is not None, wanted, kwargs)

    async def test_unknown_request(self) -> None:
        gen = BuildRequestGenerator()
        self.assertIsNone(
            await gen.generate(self.master, None, ("buildrequests", "999", "new"), {})
        )
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                BuildRequestGenerator(formatter="x")
