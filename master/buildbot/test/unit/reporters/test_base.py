from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot import config
from buildbot.reporters.base import ReporterBase, retry_with_backoff
from buildbot.test.unit.reporters.test_utils import ReporterTestMixin


class StubGenerator:
    def __init__(self, keys: list[tuple], answer: Any = "report", fail: bool = False) -> None:
        self.wanted_event_keys = keys
        self.answer = answer
        self.fail = fail
        self.calls: list[tuple] = []

    def generate(self, master: Any, reporter: Any, key: tuple, msg: Any) -> Any:
        self.calls.append((key, msg))
        if self.fail:
            raise RuntimeError("generator broke")
        if self.answer is None:
            return defer.succeed(None)
        return defer.succeed({"body": f"{self.answer} {msg['n']}"})


class RecordingReporter(ReporterBase):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[list[dict]] = []
        self.gate: defer.Deferred | None = None
        self.fail_send = False
        super().__init__(*args, **kwargs)

    async def sendMessage(self, reports: list[dict]) -> None:
        self.sent.append(reports)
        if self.gate is not None:
            await self.gate
        if self.fail_send:
            raise RuntimeError("send broke")


class ReporterBaseTests(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()

    async def start(self, generators: list[Any], **kwargs: Any) -> RecordingReporter:
        reporter = RecordingReporter(generators=generators, **kwargs)
        await reporter.setServiceParent(self.master)
        return reporter

    async def produce(self, key: tuple, n: int) -> None:
        self.master.mq.produce(key, {"n": n})
        await self.flush()

    async def test_reports_of_one_event_go_together(self) -> None:
        g1 = StubGenerator([("builds", None, "finished")], "one")
        g2 = StubGenerator([("builds", None, "finished"), ("builds", None, "new")], "two")
        g3 = StubGenerator([("builds", None, "finished")], None)
        reporter = await self.start([g1, g2, g3])
        await self.produce(("builds", "1", "finished"), 1)
        await self.produce(("builds", "2", "new"), 2)
        await self.produce(("buildsets", "2", "new"), 3)
        await reporter.wait_idle()
        self.assertEqual(
            reporter.sent, [[{"body": "one 1"}, {"body": "two 1"}], [{"body": "two 2"}]]
        )
        self.assertEqual(len(g3.calls), 1)
        # one subscription per distinct key
        self.assertEqual(len(reporter._event_consumers), 2)

    async def test_events_serialized_and_build_not_delayed(self) -> None:
        g = StubGenerator([("builds", None, "finished")])
        reporter = await self.start([g])
        reporter.gate = defer.Deferred()
        await self.produce(("builds", "1", "finished"), 1)
        await self.produce(("builds", "2", "finished"), 2)
        # the first send is stuck; the second event waits its turn, and the MQ is free
        self.assertEqual(len(reporter.sent), 1)
        self.assertEqual(self.master.mq._busy_consumers, set())
        idle = reporter.wait_idle()
        self.assertNoResult(idle)
        gate, reporter.gate = reporter.gate, None
        gate.callback(None)
        await idle
        self.assertEqual([r[0]["body"] for r in reporter.sent], ["report 1", "report 2"])

    async def test_errors_logged_and_next_event_reported(self) -> None:
        bad = StubGenerator([("builds", None, "finished")], fail=True)
        good = StubGenerator([("builds", None, "finished")])
        reporter = await self.start([bad, good])
        await self.produce(("builds", "1", "finished"), 1)
        await reporter.wait_idle()
        self.assertEqual(reporter.sent, [[{"body": "report 1"}]])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        reporter.fail_send = True
        await self.produce(("builds", "2", "finished"), 2)
        await reporter.wait_idle()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        reporter.fail_send = False
        await self.produce(("builds", "3", "finished"), 3)
        await reporter.wait_idle()
        self.assertEqual(reporter.sent[-1], [{"body": "report 3"}])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_reconfig_changes_generators(self) -> None:
        old = StubGenerator([("builds", None, "finished")], "old")
        reporter = await self.start([old], name="rep")
        new = StubGenerator([("buildsets", None, "complete")], "new")
        sibling = RecordingReporter(generators=[new], name="rep")
        await reporter.reconfigServiceWithSibling(sibling)
        await self.produce(("builds", "1", "finished"), 1)
        await self.produce(("buildsets", "1", "complete"), 2)
        await reporter.wait_idle()
        self.assertEqual(reporter.sent, [[{"body": "new 2"}]])
        self.assertEqual(old.calls, [])

    async def test_stop_unsubscribes(self) -> None:
        g = StubGenerator([("builds", None, "finished")])
        reporter = await self.start([g])
        await reporter.disownServiceParent()
        await self.produce(("builds", "1", "finished"), 1)
        self.assertEqual(reporter.sent, [])
        self.assertEqual(reporter._event_consumers, [])
        # started again, it reports again
        await reporter.setServiceParent(self.master)
        await self.produce(("builds", "2", "finished"), 2)
        await reporter.wait_idle()
        self.assertEqual(reporter.sent, [[{"body": "report 2"}]])

    async def test_stop_drops_queued_events(self) -> None:
        g = StubGenerator([("builds", None, "finished")])
        reporter = await self.start([g])
        reporter.gate = defer.Deferred()
        await self.produce(("builds", "1", "finished"), 1)
        await self.produce(("builds", "2", "finished"), 2)
        stopped = reporter.disownServiceParent()
        self.assertNoResult(stopped)  # the report in flight is waited for
        reporter.gate.callback(None)
        await stopped
        self.assertEqual([r[0]["body"] for r in reporter.sent], ["report 1"])

    async def test_no_generators(self) -> None:
        reporter = await self.start([])
        self.assertEqual(reporter._event_consumers, [])
        self.assertIsNone(await reporter.wait_idle())

    def test_check_config(self) -> None:
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                RecordingReporter(generators="nope")
        with self.assertRaises(config.ConfigErrors):
            with config.capture_config_errors(raise_on_error=True):
                RecordingReporter(generators=[object()])

    def test_send_message_abstract(self) -> None:
        with self.assertRaises(NotImplementedError):
            ReporterBase(generators=[]).sendMessage([])

    async def test_responsible_users(self) -> None:
        await self.insert_builds()
        reporter = await self.start([])
        self.assertEqual(await reporter.getResponsibleUsersForBuild(self.master, 22), ["bob"])


class Answer:
    def __init__(self, code: int) -> None:
        self.code = code


class RetryTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = task.Clock()
        self.calls: list[float] = []

    def run_with(self, answers: list[Any], **kwargs: Any) -> defer.Deferred:
        def fn() -> Any:
            self.calls.append(self.clock.seconds())
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return defer.succeed(answer)

        return defer.ensureDeferred(retry_with_backoff(self.clock, fn, "test", **kwargs))

    def test_first_try_good(self) -> None:
        d = self.run_with([Answer(200)])
        self.assertEqual(self.successResultOf(d).code, 200)
        self.assertEqual(self.calls, [0])

    def test_retries_5xx_and_errors_with_doubling_delays(self) -> None:
        d = self.run_with([Answer(500), ConnectionRefusedError(), Answer(404)])
        self.assertNoResult(d)
        self.clock.advance(0.99)
        self.assertEqual(self.calls, [0])
        self.clock.advance(0.01)
        self.assertEqual(self.calls, [0, 1])
        self.clock.advance(1.99)
        self.assertNoResult(d)
        self.clock.advance(0.01)
        # 4xx is an answer, not a reason to retry
        self.assertEqual(self.successResultOf(d).code, 404)
        self.assertEqual(self.calls, [0, 1, 3])

    def test_gives_up_with_last_answer(self) -> None:
        d = self.run_with([Answer(502), Answer(503)], tries=2, first_delay=5)
        self.clock.advance(5)
        self.assertEqual(self.successResultOf(d).code, 503)

    def test_gives_up_with_last_error(self) -> None:
        d = self.run_with([Answer(500), ConnectionRefusedError()], tries=2)
        self.clock.advance(1)
        self.failureResultOf(d, ConnectionRefusedError)

    def test_custom_should_retry(self) -> None:
        d = self.run_with(["bad", "good"], should_retry=lambda r: r == "bad")
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), "good")
