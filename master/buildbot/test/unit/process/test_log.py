from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.process import log as logmod
from buildbot.process.log import HTMLLog, Log, StreamLog, TextLog
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.util import dataapi, db

MASTERID = 824
STEPID = 20


def step_rows() -> list[Any]:
    return [
        fakedb.Master(id=MASTERID, name="me"),
        fakedb.Builder(id=5, name="b5"),
        fakedb.Worker(id=1, name="w1"),
        fakedb.Buildset(id=10),
        fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
        fakedb.Build(id=12, number=1, builderid=5, buildrequestid=11, masterid=MASTERID),
        fakedb.Step(id=STEPID, buildid=12, number=0, name="compile"),
    ]


class LogTests(TestReactorMixin, unittest.TestCase):
    async def setUp(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        await self.master.db.insert_test_data(step_rows())
        self.updates = self.master.data.updates

    async def make_log(self, type: str = "s", name: str = "stdio", encoding: Any = None) -> Any:
        logid = await self.updates.addLog(STEPID, name, type)
        return Log.new(self.master, name, type, logid, encoding)

    async def content(self, lg: Any) -> str:
        got = await self.master.data.get(("logs", lg.logid, "contents"))
        return got["content"] if got else ""

    def appends(self) -> list[str]:
        return [c["content"] for c in self.updates.callsTo("appendLog")]

    # --- batching ---

    async def test_many_lines_few_appends(self):
        lg = await self.make_log()
        for i in range(10000):
            lg.addStdout(f"line number {i}\n")
            if i % 1000 == 0:
                self.reactor.advance(0.1)
        await lg.finish()
        self.assertLessEqual(len(self.appends()), 6)
        lines = (await self.content(lg)).splitlines()
        self.assertEqual(lines, [f"oline number {i}" for i in range(10000)])
        info = await self.master.data.get(("logs", lg.logid))
        self.assertEqual((info["num_lines"], info["complete"]), (10000, True))

    async def test_live_reader_sees_lines_after_the_delay(self):
        lg = await self.make_log()
        await lg.addStdout("hello\n")
        self.reactor.advance(0.4)
        await lg.addStdout("world\n")
        self.assertEqual(await self.content(lg), "")
        self.assertEqual(self.appends(), [])
        self.reactor.advance(0.1)
        self.assertEqual(await self.content(lg), "ohello\noworld\n")
        self.assertEqual(self.appends(), ["ohello\noworld\n"])
        keys = ["/".join(k) for k, _ in self.master.mq.productions]
        self.assertIn(f"logs/{lg.logid}/append", keys)
        # continuous output is still written while it goes on, not only once it stops
        for _ in range(10):
            await lg.addStdout("more\n")
            self.reactor.advance(0.1)
        self.assertEqual(len(self.appends()), 2)
        self.reactor.advance(logmod.BATCH_DELAY)
        self.assertEqual(len(self.appends()), 3)
        self.assertEqual(await self.content(lg), "ohello\noworld\n" + "omore\n" * 10)
        await lg.finish()

    async def test_full_batch_written_at_once(self):
        lg = await self.make_log()
        big = "x" * 1000 + "\n"
        for _ in range(logmod.MAX_PENDING // len(big) + 1):
            lg.addStdout(big)
        self.assertEqual(len(self.appends()), 1)
        self.assertEqual(self.reactor.seconds(), 0)
        await lg.finish()

    async def test_writes_are_serialised_and_deferreds_wait(self):
        lg = await self.make_log()
        in_flight: list[defer.Deferred] = []
        self.updates.override("appendLog", lambda logid, content: self._hold(in_flight))
        await lg.addStdout("a\n")
        self.reactor.advance(0.5)
        self.assertEqual(len(in_flight), 1)
        flushed = lg.flush()
        await lg.addStdout("b\n")
        self.reactor.advance(0.5)
        big = lg.addStdout("c" * logmod.MAX_PENDING + "\n")
        self.reactor.advance(0.5)
        # still only one appendLog in flight
        self.assertEqual(len(in_flight), 1)
        self.assertFalse(flushed.called)
        self.assertFalse(big.called)
        in_flight[0].callback(None)
        self.assertTrue(flushed.called)
        self.assertEqual(len(in_flight), 2)
        self.assertFalse(big.called)
        in_flight[1].callback(None)
        self.assertTrue(big.called)
        self.assertEqual(self.appends(), ["oa\n", "ob\no" + "c" * logmod.MAX_PENDING + "\n"])
        finished = lg.finish()
        self.assertTrue(finished.called)
        await finished

    def _hold(self, in_flight: list[defer.Deferred]) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        in_flight.append(d)
        return d

    # --- lines, channels, encodings ---

    async def test_partial_lines(self):
        lg = await self.make_log()
        await lg.addStdout("hel")
        await lg.addStdout("lo\nwor")
        self.reactor.advance(1)
        self.assertEqual(await self.content(lg), "ohello\n")
        await lg.addStdout("ld")
        await lg.finish()
        self.assertEqual(await self.content(lg), "ohello\noworld\n")

    async def test_channels(self):
        lg = await self.make_log()
        await lg.addHeader("running\n")
        await lg.addStdout("out1\nout")
        await lg.addStderr("err1\r\nerr2\r")
        await lg.addStdout("2\n")
        await lg.finish()
        self.assertEqual(await self.content(lg), "hrunning\noout1\neerr1\noout2\neerr2\n")

    async def test_whole_lines_methods(self):
        lg = await self.make_log()
        await lg.add_stdout_lines("a\nb\n")
        await lg.add_stderr_lines("c")
        await lg.add_header_lines("d\n")
        await lg.finish()
        self.assertEqual(await self.content(lg), "oa\nob\nec\nhd\n")

    async def test_raw_lines(self):
        lg = await self.make_log()
        seen = []
        lg.subscribe(lambda s, t: seen.append((s, t)))
        await lg.addRawLines(["ofoo\n", "ebar\n", "ebaz\n", "plain\n"])
        await lg.finish()
        self.assertEqual(await self.content(lg), "ofoo\nebar\nebaz\noplain\n")
        self.assertEqual(
            seen, [("o", "foo\n"), ("e", "bar\nbaz\n"), ("o", "plain\n"), (None, None)]
        )

    async def test_bytes_decoded_and_errors_replaced(self):
        lg = await self.make_log()
        await lg.addStdout(b"caf\xc3")  # a character split between two pieces
        await lg.addStdout(b"\xa9 \xff\n")
        await lg.addStderr(b"tail \xe2\x82")  # unfinished at the end
        await lg.finish()
        self.assertEqual(await self.content(lg), "ocaf\u00e9 \ufffd\netail \ufffd\n")
        self.assertEqual(lg.decode_errors, 2)
        self.assertFalse(lg.had_errors())

    async def test_configured_encoding(self):
        lg = await self.make_log(encoding="latin-1")
        await lg.addStdout(b"caf\xe9\n")
        await lg.finish()
        self.assertEqual(await self.content(lg), "ocaf\u00e9\n")
        self.assertEqual(lg.decode_errors, 0)

    async def test_decoder_function(self):
        lg = await self.make_log(encoding=lambda b: b.decode("ascii", "ignore").upper())
        await lg.addStdout(b"ab\xffc\n")
        await lg.finish()
        self.assertEqual(await self.content(lg), "oABC\n")

    async def test_text_and_html_logs(self):
        text = await self.make_log("t", "notes")
        html = await self.make_log("h", "report")
        self.assertIsInstance(text, TextLog)
        self.assertIsInstance(html, HTMLLog)
        await text.addContent("a\r\nb")
        await html.addContent("<p>hi</p>")
        await text.finish()
        await html.finish()
        self.assertEqual(await self.content(text), "a\nb\n")
        self.assertEqual(await self.content(html), "<p>hi</p>\n")

    async def test_new(self):
        self.assertIsInstance(await self.make_log("s"), StreamLog)
        with self.assertRaises(ValueError):
            Log.new(self.master, "x", "d", 1, None)
        with self.assertRaises(LookupError):
            Log.new(self.master, "x", "s", 1, "no-such-encoding")
        self.assertIs(logmod.HtmlLog, HTMLLog)

    # --- flush, finish ---

    async def test_flush_ends_partial_lines(self):
        lg = await self.make_log()
        await lg.addStdout("no newline")
        await lg.flush()
        self.assertEqual(await self.content(lg), "ono newline\n")
        self.assertFalse(lg.isFinished())
        await lg.finish()

    async def test_finish(self):
        lg = await self.make_log()
        waited = lg.waitUntilFinished()
        await lg.addStdout("one\ntwo")
        self.assertFalse(waited.called)
        await lg.finish()
        self.assertTrue(waited.called)
        self.assertTrue(lg.isFinished())
        self.assertEqual(await self.content(lg), "oone\notwo\n")
        names = [n for n, _ in self.updates.calls if n != "addLog"]
        # one write, which also finishes the log: no finishLog, nothing to compress
        self.assertEqual(names, ["appendLog"])
        self.updates.assertCalled("appendLog", logid=lg.logid, content="oone\notwo\n", finish=True)
        await lg.compressing
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        # writing after finish fails; finishing again just waits
        with self.assertRaises(RuntimeError):
            await lg.addStdout("late\n")
        await lg.finish()
        self.assertEqual(len(self.updates.callsTo("appendLog")), 1)
        self.assertTrue(lg.waitUntilFinished().called)

    async def test_finish_compresses_a_log_written_in_several_goes(self):
        lg = await self.make_log()
        await lg.addStdout("one\n")
        await lg.flush()
        await lg.addStdout("two\n")
        await lg.finish()
        names = [n for n, _ in self.updates.calls if n != "addLog"]
        self.assertEqual(names, ["appendLog", "appendLog", "compressLog"])
        self.assertEqual(
            [kw.get("finish", False) for kw in self.updates.callsTo("appendLog")], [False, True]
        )
        await lg.compressing

    async def test_finish_empty_log(self):
        lg = await self.make_log()
        await lg.finish()
        self.updates.assertNotCalled("appendLog")
        self.updates.assertCalled("finishLog", logid=lg.logid)

    async def test_write_failure_is_recorded(self):
        lg = await self.make_log()
        self.updates.override(
            "appendLog", lambda logid, content, **kw: defer.fail(OSError("db down"))
        )
        await lg.addStdout("lost\n")
        await lg.finish()
        self.assertTrue(lg.had_errors())
        self.assertTrue(lg.isFinished())
        # the failed last write did not finish the log: finishLog does
        self.updates.assertCalled("finishLog", logid=lg.logid)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

    # --- subscribers ---

    async def test_subscribers(self):
        lg = await self.make_log()
        seen, other = [], []
        lg.subscribe(lambda s, t: seen.append((s, t)))
        sub = lg.subscribe(lambda s, t: other.append((s, t)))

        def broken(stream, text):
            raise ValueError("observer bug")

        lg.subscribe(broken)
        await lg.addStdout("a\nb")
        sub.unsubscribe()
        await lg.addStderr("c\n")
        # subscribers see lines at once, before they are written
        self.assertEqual(self.appends(), [])
        await lg.finish()
        self.assertEqual(seen, [("o", "a\n"), ("e", "c\n"), ("o", "b\n"), (None, None)])
        self.assertEqual(other, [("o", "a\n")])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 4)


class RealDataTests(dataapi.DataMixin):
    async def test_stream_log_through_the_data_api(self):
        await self.insert_test_data(step_rows())
        logid = await self.data.updates.addLog(STEPID, "stdio", "s")
        lg = Log.new(self.master, "stdio", "s", logid, "utf-8")
        for i in range(3000):
            lg.addStdout(f"line {i}\n")
            if i % 100 == 0:
                lg.addStderr(f"warning {i}\n")
        await lg.addHeader("done")
        await lg.finish()
        await lg.compressing
        info = await self.data.get(("logs", logid))
        self.assertEqual((info["num_lines"], info["complete"]), (3031, True))
        got = await self.data.get(("logs", logid, "contents"), offset=0, limit=3)
        self.assertEqual(got["content"], "oline 0\newarning 0\noline 1\n")
        last = await self.data.get(("logs", logid, "contents"), offset=3030, limit=1)
        self.assertEqual(last["content"], "hdone\n")


class TestSQLite(RealDataTests, db.SQLiteDBMixin, unittest.TestCase):
    pass
