from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot.process import logobserver
from buildbot.process.log import Log
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin


class Recorder(logobserver.LogLineObserver):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str | None]] = []

    def outLineReceived(self, line: str) -> None:
        self.events.append(("o", line))

    def errLineReceived(self, line: str) -> None:
        self.events.append(("e", line))

    def headerLineReceived(self, line: str) -> None:
        self.events.append(("h", line))

    def finishReceived(self) -> None:
        self.events.append(("finish", None))


class ObserverTests(TestReactorMixin, unittest.TestCase):
    async def setUp(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=824),
                fakedb.Builder(id=5),
                fakedb.Buildset(id=10),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
                fakedb.Build(id=12, builderid=5, buildrequestid=11, masterid=824),
                fakedb.Step(id=20, buildid=12),
            ]
        )

    async def make_log(self, type: str = "s") -> Any:
        logid = await self.master.data.updates.addLog(20, "stdio", type)
        return Log.new(self.master, "stdio", type, logid, None)

    async def test_log_line_observer(self):
        lg = await self.make_log()
        obs = Recorder()
        obs.setLog(lg)
        await lg.addHeader("start\n")
        await lg.addStdout("one\ntw")
        await lg.addStderr("oops\n")
        await lg.addStdout("o\n")
        await lg.finish()
        self.assertEqual(
            obs.events,
            [
                ("h", "start"),
                ("o", "one"),
                ("e", "oops"),
                ("o", "two"),
                ("finish", None),
            ],
        )

    async def test_text_log_lines_are_stdout(self):
        lg = await self.make_log("t")
        obs = Recorder()
        obs.setLog(lg)
        await lg.addContent("a\nb")
        await lg.finish()
        self.assertEqual(obs.events, [("o", "a"), ("o", "b"), ("finish", None)])

    def test_max_line_length(self):
        obs = Recorder()
        obs.setMaxLineLength(5)
        obs.gotData("o", "short\ntoo long\nok\n")
        self.assertEqual(obs.events, [("o", "short"), ("o", "ok")])

    def test_default_max_line_length(self):
        obs = Recorder()
        obs.gotData("o", "x" * 16384 + "\n" + "y" * 16385 + "\n")
        self.assertEqual([len(line or "") for _, line in obs.events], [16384])

    def test_partial_data_flushed_at_finish(self):
        obs = Recorder()
        obs.gotData("e", "no newline")
        self.assertEqual(obs.events, [])
        obs.gotData(None, None)
        self.assertEqual(obs.events, [("e", "no newline"), ("finish", None)])

    def test_subclass_without_init(self):
        class Bare(logobserver.LogLineObserver):
            def __init__(self) -> None:
                self.lines: list[str] = []

            def outLineReceived(self, line: str) -> None:
                self.lines.append(line)

        obs = Bare()
        obs.gotData("o", "a\nb\n")
        self.assertEqual(obs.lines, ["a", "b"])

    def test_log_observer_dispatch(self):
        got = []

        class Raw(logobserver.LogObserver):
            def outReceived(self, data):
                got.append(("out", data))

            def errReceived(self, data):
                got.append(("err", data))

            def headerReceived(self, data):
                got.append(("hdr", data))

            def finishReceived(self):
                got.append(("end", None))

        obs = Raw()
        step = object()
        obs.setStep(step)
        self.assertIs(obs.step, step)
        for stream, data in [("o", "1\n"), (None, "2\n"), ("e", "3\n"), ("h", "4\n"), (None, None)]:
            obs.gotData(stream, data)
        self.assertEqual(
            got, [("out", "1\n"), ("out", "2\n"), ("err", "3\n"), ("hdr", "4\n"), ("end", None)]
        )

    async def test_buffer_log_observer(self):
        lg = await self.make_log()
        both = logobserver.BufferLogObserver(wantStdout=True, wantStderr=True)
        default = logobserver.BufferLogObserver()
        both.setLog(lg)
        default.setLog(lg)
        await lg.addStdout("out\n")
        await lg.addStderr("err\n")
        await lg.addHeader("hdr\n")
        await lg.finish()
        self.assertEqual((both.getStdout(), both.getStderr()), ("out\n", "err\n"))
        self.assertEqual((default.getStdout(), default.getStderr()), ("out\n", ""))

    async def test_line_consumer(self):
        received: list[tuple[str, str]] = []
        closed: list[bool] = []
        started: list[bool] = []

        def consumer():
            started.append(True)
            try:
                while True:
                    received.append((yield))
            except GeneratorExit:
                closed.append(True)
                raise

        obs = logobserver.LineConsumerLogObserver(consumer)
        self.assertEqual(started, [])  # not before the first line
        lg = await self.make_log()
        obs.setLog(lg)
        await lg.addStdout("a\n")
        await lg.addStderr("b\n")
        await lg.addHeader("c\n")
        self.assertEqual(received, [("o", "a"), ("e", "b"), ("h", "c")])
        await lg.finish()
        self.assertEqual(closed, [True])

    def test_line_consumer_that_stops(self):
        received = []

        def consumer():
            received.append((yield))

        obs = logobserver.LineConsumerLogObserver(consumer)
        obs.gotData("o", "1\n2\n3\n")
        obs.gotData(None, None)
        self.assertEqual(received, [("o", "1")])

    def test_output_progress(self):
        progress = []

        class Step:
            def setProgress(self, name, value):
                progress.append((name, value))

        obs = logobserver.OutputProgressObserver("output")
        obs.setStep(Step())
        obs.gotData("o", "abc\n")
        obs.gotData("e", "de\n")
        obs.gotData(None, None)
        self.assertEqual(progress, [("output", 4), ("output", 7)])
