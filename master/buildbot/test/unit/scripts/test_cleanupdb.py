import io
import os
import subprocess
import sys

import sqlalchemy as sa
from twisted.internet import reactor
from twisted.trial import unittest

from buildbot.db import connector
from buildbot.scripts import cleanupdb, upgrade_master
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster

CONFIG = (
    "from buildbot.test.unit.config.configfakes import minimal_config\n"
    "BuildmasterConfig = c = minimal_config()\n"
    "c['logCompressionMethod'] = {method!r}\n"
)

LINES = [f"line {i}: {'x' * (i % 50)}\n" for i in range(3000)]


class TestCleanupDB(unittest.TestCase):
    timeout = 60

    async def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        with open(os.path.join(self.basedir, "buildbot.tac"), "w") as f:
            f.write("# tac\n")
        self.write_config("raw")
        url = "sqlite:///state.sqlite"
        self.assertEqual(upgrade_master.upgrade_db(url, self.basedir, {}, lambda m: None, None), 0)
        await self.fill_logs()

    def write_config(self, method):
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(CONFIG.format(method=method))

    async def open_db(self):
        master = fakemaster.make_master(self, reactor=reactor, basedir=self.basedir)
        db = connector.DBConnector(self.basedir)
        await db.setServiceParent(master)
        await db.setup(db_url=f"sqlite:///{self.basedir}/state.sqlite")
        self.addCleanup(db.pool.shutdown)
        return db

    async def fill_logs(self):
        db = await self.open_db()
        rows = [
            fakedb.Master(id=1),
            fakedb.Builder(id=1, name="b"),
            fakedb.Buildset(id=1),
            fakedb.BuildRequest(id=1, buildsetid=1, builderid=1),
            fakedb.Build(id=1, buildrequestid=1, number=1, masterid=1, builderid=1),
            fakedb.Step(id=1, buildid=1, number=0, name="s"),
        ]

        def thd(conn):
            for row in rows:
                conn.execute(db.model.metadata.tables[row.table].insert().values(**row.values))

        await db.pool.do(thd)
        self.logids = []
        for n in range(3):
            logid = await db.logs.addLog(1, f"log{n}", f"log{n}", "s")
            for i in range(0, len(LINES), 10):  # many small chunks, as lines arrived
                await db.logs.appendLog(logid, "".join(LINES[i : i + 10]))
            await db.logs.finishLog(logid)
            self.logids.append(logid)
        await db.pool.shutdown()

    async def read_back(self):
        db = await self.open_db()
        chunks = await db.pool.do(
            lambda conn: conn.execute(
                sa.select(sa.func.count(), sa.func.max(db.model.logchunks.c.compressed))
            ).one()
        )
        texts = [await db.logs.getLogLines(logid, 0, len(LINES)) for logid in self.logids]
        await db.pool.shutdown()
        return tuple(chunks), texts

    def run_cleanup(self, **options):
        config = {"basedir": self.basedir, "quiet": False, "force": False, **options}
        out = self.err = io.StringIO()
        self.err = io.StringIO()
        return cleanupdb.cleanup(reactor, config, out, self.err), out

    async def test_compacts_logs_and_keeps_every_line(self):
        (before, _), _ = await self.read_back()
        d, out = self.run_cleanup()
        self.assertEqual(await d, 0)
        (after, compressed), texts = await self.read_back()
        self.assertLess(after, before / 10)
        self.assertEqual(compressed, 0)  # raw: the configured method
        self.assertEqual(texts, ["".join(LINES)] * 3)
        self.assertIn("compacted 3/3 logs", out.getvalue())
        self.assertIn("vacuuming the database", out.getvalue())
        self.assertIn("cleanup done", out.getvalue())

    async def test_force_recompresses_with_the_configured_method(self):
        d, _ = self.run_cleanup(quiet=True)
        await d
        self.write_config("gz")
        d, out = self.run_cleanup(force=True, quiet=True)
        self.assertEqual(await d, 0)
        self.assertEqual(out.getvalue(), "")
        (_, compressed), texts = await self.read_back()
        self.assertEqual(compressed, 1)  # gz
        self.assertEqual(texts, ["".join(LINES)] * 3)

    async def test_config_errors(self):
        with open(os.path.join(self.basedir, "master.cfg"), "a") as f:
            f.write("c['title'] = 5\n")
        d, _ = self.run_cleanup()
        self.assertEqual(await d, 1)
        self.assertIn("c['title'] must be a string", self.err.getvalue())

    async def test_database_not_ready(self):
        os.remove(os.path.join(self.basedir, "state.sqlite"))
        d, _ = self.run_cleanup()
        self.assertEqual(await d, 1)
        self.assertIn("buildbot upgrade-master", self.err.getvalue())

    def test_command_line(self):
        exe = os.path.join(os.path.dirname(sys.executable), "buildbot")
        proc = subprocess.run(
            [exe, "cleanupdb", "-q", self.basedir], capture_output=True, text=True, timeout=60
        )
        self.assertEqual((proc.returncode, proc.stdout, proc.stderr), (0, "", ""))
        proc = subprocess.run(
            [exe, "cleanupdb", self.basedir + "-nope"], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(proc.returncode, 1)
        self.assertIn("does not exist", proc.stderr)
