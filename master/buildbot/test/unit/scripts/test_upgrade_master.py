import io
import os
import sqlite3
import sys
from unittest import mock

from twisted.trial import unittest

from buildbot.db import migrate
from buildbot.scripts import runner, upgrade_master

# a valid configuration, with stand-ins for the workers and schedulers
VALID = (
    "from buildbot.test.unit.config.configfakes import minimal_config\n"
    "BuildmasterConfig = c = minimal_config()\n"
)


class TestUpgradeMaster(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        with open(os.path.join(self.basedir, "buildbot.tac"), "w") as f:
            f.write("# a master's tac file\n")
        self.write_cfg(VALID)

    def write_cfg(self, text):
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(text)

    def upgrade(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
            rc = runner.run(["upgrade-master", *args, self.basedir])
        return rc, out.getvalue(), err.getvalue()

    def revision(self, path="state.sqlite"):
        conn = sqlite3.connect(os.path.join(self.basedir, path))
        try:
            return conn.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            conn.close()

    def test_creates_the_database_then_finds_it_current(self):
        rc, out, err = self.upgrade()
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("upgrading database (sqlite:///state.sqlite)", out)
        self.assertIn(f"created the database schema (revision {migrate.head_revision()})", out)
        self.assertTrue(out.rstrip().endswith("upgrade complete"))
        self.assertEqual(self.revision(), [(migrate.head_revision(),)])

        rc, out, err = self.upgrade()
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("already current", out)

    def test_db_url_from_config_relative_to_basedir(self):
        self.write_cfg(VALID + "c['db'] = {'db_url': 'sqlite:///other.db'}\n")
        rc, _, _ = self.upgrade("--quiet")
        self.assertEqual(rc, 0)
        self.assertEqual(self.revision("other.db"), [(migrate.head_revision(),)])

    def test_quiet_prints_nothing(self):
        rc, out, err = self.upgrade("-q")
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_password_hidden_in_messages(self):
        self.assertEqual(
            upgrade_master.display_url("postgresql://bb:secret@host/db"),
            "postgresql://bb:***@host/db",
        )
        self.assertEqual(upgrade_master.display_url("not a url"), "not a url")

    def test_not_a_directory(self):
        os.remove(os.path.join(self.basedir, "buildbot.tac"))
        os.remove(os.path.join(self.basedir, "master.cfg"))
        os.rmdir(self.basedir)
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("does not exist", err)

    def test_not_a_buildmaster_directory(self):
        os.remove(os.path.join(self.basedir, "buildbot.tac"))
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("not a buildmaster directory", err)
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "state.sqlite")))

    def test_broken_config(self):
        self.write_cfg(VALID + "c['title'] = 3\nraise ValueError('boom')\n")
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("master.cfg, line 4: ValueError: boom", err)
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "state.sqlite")))

    def test_invalid_config_lists_every_error(self):
        self.write_cfg(VALID + "c['title'] = 3\nc['nosuchkey'] = 1\n")
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("master.cfg has errors:", err)
        self.assertIn("c['title'] must be a string", err)
        self.assertIn("Unknown BuildmasterConfig key nosuchkey", err)
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "state.sqlite")))

    def test_config_without_buildmasterconfig(self):
        self.write_cfg("c = {}\n")
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("BuildmasterConfig", err)

    def test_unusable_url(self):
        self.write_cfg(VALID + "c['db'] = {'db_url': 'nosuchdialect://x/y'}\n")
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("cannot use the database URL 'nosuchdialect://x/y'", err)

    def test_database_error_is_reported(self):
        # a directory where the SQLite file should be: SQLite cannot open it
        os.makedirs(os.path.join(self.basedir, "state.sqlite"))
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("cannot upgrade the database sqlite:///state.sqlite", err)

    def make_db(self, *statements):
        conn = sqlite3.connect(os.path.join(self.basedir, "state.sqlite"))
        for statement in statements:
            conn.execute(statement)
        conn.commit()
        conn.close()

    def test_refuses_a_database_too_old(self):
        self.make_db(
            "CREATE TABLE migrate_version (version INTEGER)",
            "INSERT INTO migrate_version VALUES (58)",
        )
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("Buildbot 2.x or older", err)

    def test_refuses_an_unknown_revision(self):
        self.make_db(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
            "INSERT INTO alembic_version VALUES ('999')",
        )
        rc, _, err = self.upgrade()
        self.assertEqual(rc, 1)
        self.assertIn("'999', which this master does not know", err)
        self.assertEqual(self.revision(), [("999",)])
