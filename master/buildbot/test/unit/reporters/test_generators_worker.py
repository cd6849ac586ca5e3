from __future__ import annotations

from twisted.trial import unittest

from buildbot import config
from buildbot.reporters.generators.worker import WorkerMissingGenerator
from buildbot.reporters.message import MessageFormatterMissingWorker, MessageFormatterRenderable
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin

WORKER = {
    "workerid": 3,
    "name": "w3",
    "workerinfo": {},
    "last_connection": "Mon",
    "notify": ["ops@example.org"],
}


class WorkerMissingGeneratorTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()

    async def test_all(self) -> None:
        gen = WorkerMissingGenerator()
        gen.check()
        self.assertEqual(gen.wanted_event_keys, [("workers", None, "missing")])
        report = await gen.generate(self.master, None, ("workers", "3", "missing"), WORKER)
        self.assertEqual(report["subject"], "Buildbot Example CI worker w3 missing")
        self.assertIn("The worker w3", report["body"])
        self.assertEqual(report["users"], ["ops@example.org"])
        self.assertEqual(report["worker"], "w3")
        self.assertIsNone(report["builds"])

    async def test_selected_workers(self) -> None:
        gen = WorkerMissingGenerator(
            workers=["w1"], message_formatter=MessageFormatterMissingWorker(template="t")
        )
        gen.check()
        self.assertIsNone(
            await gen.generate(self.master, None, ("workers", "3", "missing"), WORKER)
        )
        gen.workers = ["w3"]
        report = await gen.generate(self.master, None, ("workers", "3", "missing"), WORKER)
        self.assertEqual(report["body"], "t")

    def test_check(self) -> None:
        for kwargs in ({"workers": "w3"}, {"message_formatter": MessageFormatterRenderable("x")}):
            with self.assertRaises(config.ConfigErrors):
                with config.capture_config_errors(raise_on_error=True):
                    WorkerMissingGenerator(**kwargs).check()
