import io
import os
import sqlite3
import sys
from unittest import mock

from twisted.application import service
from twisted.python import usage
from twisted.trial import unittest

from buildbot.db import migrate
from buildbot.scripts import create_master, runner


class TestCreateMaster(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())

    def create(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
            rc = runner.run(["create-master", *args, self.basedir])
        return rc, out.getvalue(), err.getvalue()

    def read(self, name):
        with open(os.path.join(self.basedir, name)) as f:
            return f.read()

    def revision(self, name="state.sqlite"):
        conn = sqlite3.connect(os.path.join(self.basedir, name))
        try:
            return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        finally:
            conn.close()

    def load_tac(self):
        namespace = {"__file__": os.path.join(self.basedir, "buildbot.tac")}
        exec(compile(self.read("buildbot.tac"), "buildbot.tac", "exec"), namespace)
        return namespace

    def test_creates_everything(self):
        rc, out, err = self.create()
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(f"mkdir {self.basedir}", out)
        self.assertTrue(out.endswith(f"buildmaster configured in {self.basedir}\n"))
        self.assertEqual(
            sorted(os.listdir(self.basedir)), ["buildbot.tac", "master.cfg.sample", "state.sqlite"]
        )
        self.assertEqual(self.revision(), migrate.head_revision())
        sample = self.read("master.cfg.sample")
        compile(sample, "master.cfg.sample", "exec")
        self.assertIn("c['db'] = {'db_url': 'sqlite:///state.sqlite'}", sample)
        self.assertEqual(
            os.stat(os.path.join(self.basedir, "master.cfg.sample")).st_mode & 0o777, 0o600
        )

    def test_tac_builds_the_master_with_log_rotation(self):
        self.create("-q", "--log-size=1234", "--log-count=None", "--config=other.cfg")
        ns = self.load_tac()
        self.assertEqual(ns["basedir"], self.basedir)
        self.assertEqual((ns["rotateLength"], ns["maxRotatedFiles"]), (1234, None))
        self.assertEqual(ns["configfile"], "other.cfg")
        self.assertIsNone(ns["umask"])
        m = ns["m"]
        self.assertEqual(type(m).__name__, "BuildMaster")
        self.assertEqual((m.basedir, m.configFileName), (self.basedir, "other.cfg"))
        self.assertEqual(
            (m.log_rotation.rotateLength, m.log_rotation.maxRotatedFiles), (1234, None)
        )
        self.addCleanup(ns["logfile"].close)
        self.assertIn(m, list(service.IServiceCollection(ns["application"])))
        self.assertEqual(ns["logfile"].rotateLength, 1234)
        self.assertEqual(ns["logfile"].path, os.path.join(self.basedir, "twistd.log"))

    def test_no_logrotate(self):
        self.create("-q", "--no-logrotate")
        ns = self.load_tac()
        self.assertNotIn("logfile", ns)
        self.assertNotIn("LogFile", self.read("buildbot.tac"))

    def test_relocatable(self):
        self.create("-q", "-r")
        self.assertIn("basedir = '.'", self.read("buildbot.tac"))
        moved = os.path.abspath(self.mktemp())
        os.rename(self.basedir, moved)
        namespace = {"__file__": os.path.join(moved, "buildbot.tac")}
        with open(os.path.join(moved, "buildbot.tac")) as f:
            exec(compile(f.read(), "buildbot.tac", "exec"), namespace)
        self.assertEqual(namespace["basedir"], moved)
        self.assertEqual(namespace["m"].basedir, moved)

    def test_db_url_used_and_written_into_the_sample(self):
        rc, out, _ = self.create("--db", "sqlite:///other.db")
        self.assertEqual(rc, 0)
        self.assertIn("upgrading database (sqlite:///other.db)", out)
        self.assertEqual(self.revision("other.db"), migrate.head_revision())
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "state.sqlite")))
        self.assertIn("{'db_url': 'sqlite:///other.db'}", self.read("master.cfg.sample"))

    def test_sqlite_url_with_options_is_made_by_sqlalchemy(self):
        rc, out, _ = self.create("--db", "sqlite:///opt.db?synchronous=full")
        self.assertEqual(rc, 0)
        self.assertIn("created the database schema", out)
        self.assertEqual(self.revision("opt.db"), migrate.head_revision())

    def test_unwritable_place_for_a_new_sqlite_file_fails_clearly(self):
        rc, _, err = self.create("-q", "--db", "sqlite:///no/such/dir/state.sqlite")
        self.assertEqual(rc, 1)
        self.assertIn("cannot create the database sqlite:///no/such/dir/state.sqlite", err)

    def test_bad_db_url_fails(self):
        rc, _, err = self.create("-q", "--db", "nosuchdialect://x/y")
        self.assertEqual(rc, 1)
        self.assertIn("cannot use the database URL", err)

    def test_quiet(self):
        self.assertEqual(self.create("-q"), (0, "", ""))

    def test_existing_directory_is_updated_and_master_cfg_kept(self):
        self.assertEqual(self.create("-q")[0], 0)
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write("# mine\n")
        os.remove(os.path.join(self.basedir, "master.cfg.sample"))
        rc, out, _ = self.create()
        self.assertEqual(rc, 0)
        self.assertIn("updating existing installation", out)
        self.assertIn("buildbot.tac already exists and is correct", out)
        self.assertIn("already current", out)
        self.assertEqual(self.read("master.cfg"), "# mine\n")
        self.assertTrue(os.path.exists(os.path.join(self.basedir, "master.cfg.sample")))
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "buildbot.tac.new")))

    def test_different_tac_is_kept_and_new_one_written_aside(self):
        os.makedirs(self.basedir)
        with open(os.path.join(self.basedir, "buildbot.tac"), "w") as f:
            f.write("# my own tac\n")
        rc, out, _ = self.create()
        self.assertEqual(rc, 0)
        self.assertIn("buildbot.tac.new", out)
        self.assertEqual(self.read("buildbot.tac"), "# my own tac\n")
        self.assertIn("BuildMaster(basedir, configfile, umask)", self.read("buildbot.tac.new"))

    def test_basedir_is_a_file(self):
        with open(self.basedir, "w") as f:
            f.write("")
        rc, _, err = self.create()
        self.assertEqual(rc, 1)
        self.assertIn("not a directory", err)

    def test_option_checks(self):
        for args in (["--log-size=big"], ["--log-count=many"]):
            opts = create_master.CreateMasterOptions()
            with self.assertRaises(usage.UsageError):
                opts.parseOptions(args)
        opts = create_master.CreateMasterOptions()
        opts.parseOptions([])
        self.assertEqual((opts["log-size"], opts["log-count"]), (10_000_000, 10))
        self.assertEqual(opts["db"], "sqlite:///state.sqlite")
        self.assertEqual(opts["config"], "master.cfg")
        self.assertEqual(opts["basedir"], os.getcwd())
