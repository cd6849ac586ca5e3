"""The logs component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import bz2
import os
import random
import types
import zlib
from unittest import mock

import sqlalchemy as sa

from buildbot.db import compression
from buildbot.db.logs import LogModel
from buildbot.test import fakedb
from buildbot.test.util import db

BASE_ROWS = [
    fakedb.Master(id=88),
    fakedb.Builder(id=77, name="b"),
    fakedb.Buildset(id=20),
    fakedb.BuildRequest(id=41, buildsetid=20, builderid=77),
    fakedb.Build(id=30, buildrequestid=41, number=7, masterid=88, builderid=77),
    fakedb.Step(id=101, buildid=30, number=1, name="one", started_at=1000),
    fakedb.Step(id=102, buildid=30, number=2, name="two", started_at=2000),
    fakedb.Step(id=103, buildid=30, number=3, name="three"),
]


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(BASE_ROWS)

    def set_method(self, method):
        self.master.config = types.SimpleNamespace(logCompressionMethod=method)

    async def get_chunks(self, logid):
        """(first_line, last_line, compressed, stored size) of the log's chunks."""
        if self.backend == "fake":
            rows = self.db.tables.select("logchunks", lambda r: r["logid"] == logid)
            rows = [
                (r["first_line"], r["last_line"], r["compressed"], len(r["content"])) for r in rows
            ]
            return sorted(rows)
        tbl = self.db.model.logchunks

        def thd(conn):
            q = sa.select(tbl).where(tbl.c.logid == logid).order_by(tbl.c.first_line)
            return [
                (r.first_line, r.last_line, r.compressed, len(r.content)) for r in conn.execute(q)
            ]

        return await self.db.pool.do(thd)

    async def test_getLog_and_getLogBySlug(self):
        await self.insert_test_data(
            [
                fakedb.Log(
                    id=201,
                    stepid=101,
                    name="stdio",
                    slug="stdio",
                    complete=1,
                    num_lines=200,
                    type="s",
                )
            ]
        )
        expected = LogModel(
            id=201, name="stdio", slug="stdio", stepid=101, complete=True, num_lines=200, type="s"
        )
        self.assertEqual(await self.db.logs.getLog(201), expected)
        self.assertEqual(await self.db.logs.getLogBySlug(101, "stdio"), expected)
        self.assertIsNone(await self.db.logs.getLog(999))
        self.assertIsNone(await self.db.logs.getLogBySlug(102, "stdio"))
        self.assertIsNone(await self.db.logs.getLogBySlug(101, "other"))

    async def test_getLogs(self):
        await self.insert_test_data(
            [
                fakedb.Log(id=203, stepid=101, name="b", slug="b"),
                fakedb.Log(id=201, stepid=101, name="a", slug="a"),
                fakedb.Log(id=202, stepid=102, name="a", slug="a", type="t"),
            ]
        )
        self.assertEqual([lg.id for lg in await self.db.logs.getLogs(101)], [201, 203])
        self.assertEqual([lg.id for lg in await self.db.logs.getLogs(102)], [202])
        self.assertEqual([lg.id for lg in await self.db.logs.getLogs()], [201, 202, 203])
        self.assertEqual(await self.db.logs.getLogs(103), [])

    async def test_addLog(self):
        logid = await self.db.logs.addLog(101, "stdio", "stdio", "s")
        self.assertEqual(
            await self.db.logs.getLog(logid),
            LogModel(
                id=logid,
                name="stdio",
                slug="stdio",
                stepid=101,
                complete=False,
                num_lines=0,
                type="s",
            ),
        )
        # same slug in another step is fine
        other = await self.db.logs.addLog(102, "stdio", "stdio", "t")
        self.assertEqual((await self.db.logs.getLog(other)).slug, "stdio")

    async def test_addLog_slug_collision(self):
        ids = [await self.db.logs.addLog(101, "std io", "std_io", "t") for _ in range(3)]
        slugs = [(await self.db.logs.getLog(i)).slug for i in ids]
        self.assertEqual(slugs, ["std_io", "std_io_2", "std_io_3"])
        long_slug = "s" * 50
        a = await self.db.logs.addLog(101, "x", long_slug, "t")
        b = await self.db.logs.addLog(101, "x", long_slug, "t")
        self.assertEqual((await self.db.logs.getLog(a)).slug, long_slug)
        self.assertEqual((await self.db.logs.getLog(b)).slug, "s" * 48 + "_2")

    async def test_addLog_long_slug(self):
        logid = await self.db.logs.addLog(101, "x", "s" * 80, "h")
        self.assertEqual(len((await self.db.logs.getLog(logid)).slug), 50)

    async def test_addLog_bad_type(self):
        with self.assertRaises(ValueError):
            await self.db.logs.addLog(101, "x", "x", "z")
        self.assertEqual(await self.db.logs.getLogs(101), [])

    async def test_append_and_read(self):
        logid = await self.db.logs.addLog(101, "stdio", "stdio", "s")
        self.assertEqual(await self.db.logs.appendLog(logid, "ohello\nethere\n"), (0, 1))
        self.assertEqual(await self.db.logs.appendLog(logid, "o\n"), (2, 2))
        self.assertEqual(
            await self.db.logs.appendLog(logid, "h\u00e9\u00e9\u4e2d\nolast\n"), (3, 4)
        )
        self.assertEqual((await self.db.logs.getLog(logid)).num_lines, 5)
        read = self.db.logs.getLogLines
        self.assertEqual(await read(logid, 0, 4), "ohello\nethere\no\nh\u00e9\u00e9\u4e2d\nolast\n")
        self.assertEqual(await read(logid, 1, 3), "ethere\no\nh\u00e9\u00e9\u4e2d\n")
        self.assertEqual(await read(logid, 2, 2), "o\n")
        self.assertEqual(await read(logid, 3, 100), "h\u00e9\u00e9\u4e2d\nolast\n")
        self.assertEqual(await read(logid, 5, 10), "")
        self.assertEqual(await read(logid, 3, 1), "")
        self.assertEqual(await read(999, 0, 10), "")
        self.assertEqual(len(await self.get_chunks(logid)), 3)

    async def test_append_empty_lines(self):
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        self.assertEqual(await self.db.logs.appendLog(logid, "\n"), (0, 0))
        self.assertEqual(await self.db.logs.appendLog(logid, "\n\na\n\n"), (1, 4))
        self.assertEqual(await self.db.logs.getLogLines(logid, 0, 9), "\n\n\na\n\n")

    async def test_append_bad_content(self):
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        with self.assertRaises(ValueError):
            await self.db.logs.appendLog(logid, "no newline")
        with self.assertRaises(ValueError):
            await self.db.logs.appendLog(logid, "")
        self.assertEqual((await self.db.logs.getLog(logid)).num_lines, 0)
        self.assertEqual(await self.get_chunks(logid), [])

    async def test_append_unknown_log(self):
        self.assertIsNone(await self.db.logs.appendLog(999, "x\n"))

    async def test_append_chunk_boundaries(self):
        self.set_method("raw")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        line = "a" * 99 + "\n"  # 100 bytes with its newline
        # 655 lines fit in 65536 bytes, the 656th starts a new chunk
        self.assertEqual(await self.db.logs.appendLog(logid, line * 700), (0, 699))
        self.assertEqual(await self.get_chunks(logid), [(0, 654, 0, 65499), (655, 699, 0, 4499)])
        # exactly 65536 bytes in one chunk
        big = "b" * 65535 + "\n"
        self.assertEqual(await self.db.logs.appendLog(logid, big), (700, 700))
        self.assertEqual((await self.get_chunks(logid))[-1], (700, 700, 0, 65535))
        self.assertEqual(await self.db.logs.getLogLines(logid, 654, 655), line * 2)
        self.assertEqual(await self.db.logs.getLogLines(logid, 699, 700), line + big)

    async def test_append_long_line_compressible(self):
        self.set_method("gz")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        long_line = "z" * 200000 + "\n"
        self.assertEqual(await self.db.logs.appendLog(logid, "a\n" + long_line + "b\n"), (0, 2))
        chunks = await self.get_chunks(logid)
        self.assertEqual([c[:3] for c in chunks], [(0, 0, 0), (1, 1, 1), (2, 2, 0)])
        self.assertEqual(await self.db.logs.getLogLines(logid, 1, 1), long_line)

    async def test_append_long_line_truncated(self):
        self.set_method("zstd")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        # random two-byte characters: 200000 bytes, too random to compress below 64 KiB
        rnd = random.Random(4)
        text = "".join(chr(0x400 + rnd.randrange(256)) for _ in range(100000))
        self.assertEqual(await self.db.logs.appendLog(logid, text + "\nnext\n"), (0, 1))
        stored = await self.db.logs.getLogLines(logid, 0, 0)
        self.assertTrue(stored.endswith("\n"))
        # cut at a character boundary below 64 KiB
        self.assertEqual(stored, text[:32767] + "\n")
        self.assertEqual(await self.db.logs.getLogLines(logid, 1, 1), "next\n")

    async def test_append_long_line_raw_truncated_at_utf8_boundary(self):
        self.set_method("raw")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        text = "\u00e9" * 40000  # 80000 bytes
        await self.db.logs.appendLog(logid, text + "\n")
        stored = await self.db.logs.getLogLines(logid, 0, 0)
        self.assertEqual(stored, "\u00e9" * 32767 + "\n")

    async def test_every_method_round_trip(self):
        text = "".join(f"line {i} of the log, with some text\n" for i in range(300))
        for method, code in compression.CODES.items():
            self.set_method(method)
            logid = await self.db.logs.addLog(101, method, method, "t")
            await self.db.logs.appendLog(logid, text)
            self.assertEqual([c[2] for c in await self.get_chunks(logid)], [code], method)
            self.assertEqual(await self.db.logs.getLogLines(logid, 0, 299), text, method)
            self.assertEqual(
                await self.db.logs.getLogLines(logid, 150, 150),
                "line 150 of the log, with some text\n",
            )

    async def test_default_method(self):
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        await self.db.logs.appendLog(logid, "compress me please\n" * 50)
        self.assertEqual((await self.get_chunks(logid))[0][2], compression.CODES["zstd"])

    async def test_unknown_method(self):
        self.set_method("lzma")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        with self.assertRaises(ValueError):
            await self.db.logs.appendLog(logid, "x\n")
        with self.assertRaises(ValueError):
            await self.db.logs.compressLog(logid)

    async def test_read_chunks_written_by_others(self):
        await self.insert_test_data(
            [
                fakedb.Log(id=201, stepid=101, num_lines=5),
                fakedb.LogChunk(
                    logid=201, first_line=0, last_line=1, compressed=0, content=b"l0\nl1"
                ),
                fakedb.LogChunk(
                    logid=201, first_line=2, last_line=2, compressed=1, content=zlib.compress(b"l2")
                ),
                fakedb.LogChunk(
                    logid=201,
                    first_line=3,
                    last_line=4,
                    compressed=2,
                    content=bz2.compress(b"l3\nl4"),
                ),
            ]
        )
        self.assertEqual(await self.db.logs.getLogLines(201, 0, 4), "l0\nl1\nl2\nl3\nl4\n")
        self.assertEqual(await self.db.logs.getLogLines(201, 1, 3), "l1\nl2\nl3\n")

    async def test_read_only_overlapping_chunks(self):
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        for i in range(10):
            await self.db.logs.appendLog(logid, f"{i}a\n{i}b\n")
        real = compression.decompress
        calls = []

        def counting(code, data):
            calls.append(code)
            return real(code, data)

        with mock.patch.object(compression, "decompress", counting):
            self.assertEqual(await self.db.logs.getLogLines(logid, 5, 8), "2b\n3a\n3b\n4a\n")
        self.assertEqual(len(calls), 3)

    async def test_finishLog(self):
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        await self.db.logs.finishLog(logid)
        self.assertTrue((await self.db.logs.getLog(logid)).complete)
        await self.db.logs.finishLog(999)

    async def test_appendLog_that_finishes(self):
        logid = await self.db.logs.addLog(101, "x", "x", "s")
        self.assertEqual(await self.db.logs.appendLog(logid, "a\n"), (0, 0))
        self.assertFalse((await self.db.logs.getLog(logid)).complete)
        self.assertEqual(await self.db.logs.appendLog(logid, "b\nc\n", finish=True), (1, 2))
        log = await self.db.logs.getLog(logid)
        self.assertEqual((log.complete, log.num_lines), (True, 3))
        self.assertEqual(await self.db.logs.getLogLines(logid, 0, 2), "a\nb\nc\n")

    async def test_compressLog_merges(self):
        self.set_method("raw")
        logid = await self.db.logs.addLog(101, "x", "x", "s")
        text = ""
        for i in range(20):
            part = f"oline {i} of a build, repeated words repeated words\n" * 3
            await self.db.logs.appendLog(logid, part)
            text += part
        self.assertEqual(len(await self.get_chunks(logid)), 20)
        self.set_method("gz")
        saved = await self.db.logs.compressLog(logid)
        chunks = await self.get_chunks(logid)
        self.assertEqual([c[:3] for c in chunks], [(0, 59, 1)])
        self.assertGreater(saved, 0)
        self.assertEqual(saved, len(text) - 20 - chunks[0][3])
        self.assertEqual(await self.db.logs.getLogLines(logid, 0, 59), text)
        # nothing left to merge
        self.assertEqual(await self.db.logs.compressLog(logid), 0)
        self.assertEqual(await self.get_chunks(logid), chunks)

    async def test_compressLog_line_limit(self):
        self.set_method("gz")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        for i in range(25):
            await self.db.logs.appendLog(logid, "".join(f"{i}-{j}\n" for j in range(100)))
        await self.db.logs.compressLog(logid)
        self.assertEqual(
            [c[:2] for c in await self.get_chunks(logid)],
            [(0, 999), (1000, 1999), (2000, 2499)],
        )
        self.assertEqual(
            await self.db.logs.getLogLines(logid, 998, 1001), "9-98\n9-99\n10-0\n10-1\n"
        )

    async def test_compressLog_size_limit(self):
        self.set_method("raw")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        block = "".join(os.urandom(50).hex() + "\n" for _ in range(200))  # 20200 bytes
        for _ in range(6):
            await self.db.logs.appendLog(logid, block)
        await self.db.logs.compressLog(logid)
        chunks = await self.get_chunks(logid)
        # raw chunks of 20199 bytes: three fit in 65536, four do not
        self.assertEqual([c[:2] for c in chunks], [(0, 599), (600, 1199)])
        self.assertEqual([c[3] for c in chunks], [3 * 20199 + 2] * 2)
        self.assertEqual(await self.db.logs.getLogLines(logid, 0, 1199), block * 6)

    async def test_compressLog_force_recompresses(self):
        self.set_method("raw")
        logid = await self.db.logs.addLog(101, "x", "x", "t")
        text = "the same words again\n" * 500
        await self.db.logs.appendLog(logid, text)
        self.set_method("zstd")
        self.assertEqual(await self.db.logs.compressLog(logid), 0)
        self.assertEqual((await self.get_chunks(logid))[0][2], 0)
        saved = await self.db.logs.compressLog(logid, force=True)
        chunks = await self.get_chunks(logid)
        self.assertEqual([c[:3] for c in chunks], [(0, 499, 4)])
        self.assertEqual(saved, len(text) - 1 - chunks[0][3])
        self.assertEqual(await self.db.logs.getLogLines(logid, 0, 499), text)

    async def test_compressLog_unknown_or_empty(self):
        self.assertEqual(await self.db.logs.compressLog(999), 0)
        self.assertEqual(await self.db.logs.compressLog(999, force=True), 0)

    async def test_deleteOldLogChunks(self):
        logs = {}
        for stepid in (101, 102, 103):
            logs[stepid] = await self.db.logs.addLog(stepid, "stdio", "stdio", "s")
            for i in range(3):
                await self.db.logs.appendLog(logs[stepid], f"o{i}\n")
        self.db.logs.delete_batch_size = 2
        self.assertEqual(await self.db.logs.deleteOldLogChunks(1500), 3)
        self.assertEqual((await self.db.logs.getLog(logs[101])).type, "d")
        self.assertEqual(await self.get_chunks(logs[101]), [])
        self.assertEqual(await self.db.logs.getLogLines(logs[101], 0, 2), "")
        self.assertEqual((await self.db.logs.getLog(logs[102])).type, "s")
        self.assertEqual(len(await self.get_chunks(logs[102])), 3)
        self.assertEqual(await self.db.logs.deleteOldLogChunks(1500), 0)
        # a step never started is never expired
        self.assertEqual(await self.db.logs.deleteOldLogChunks(5000), 3)
        self.assertEqual((await self.db.logs.getLog(logs[103])).type, "s")
        self.assertEqual(len(await self.get_chunks(logs[103])), 3)
        # the log keeps its line count
        self.assertEqual((await self.db.logs.getLog(logs[102])).num_lines, 3)

    async def test_deleteOldLogChunks_many_batches(self):
        logid = await self.db.logs.addLog(101, "stdio", "stdio", "t")
        for i in range(7):
            await self.db.logs.appendLog(logid, f"{i}\n")
        self.db.logs.delete_batch_size = 3
        self.assertEqual(await self.db.logs.deleteOldLogChunks(1500), 7)
        self.assertEqual(await self.get_chunks(logid), [])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
