from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from twisted.trial import unittest

from buildbot.db import migrate, model
from buildbot.test.unit.db.test_model import SqliteDbMixin


def stamp(conn, revision):
    """Record ``revision`` as the database's, the way any alembic user would."""
    MigrationContext.configure(conn).stamp(migrate.script_directory(), revision)


class TestMigrate(SqliteDbMixin, unittest.TestCase):
    def inspect(self, engine):
        with engine.connect() as conn:
            return migrate.thd_inspect(conn)

    def check_error(self, engine, error_class, *fragments):
        with engine.connect() as conn:
            self.assertFalse(migrate.thd_is_current(conn))
            with self.assertRaises(error_class) as cm:
                migrate.thd_check_current(conn)
        for fragment in fragments:
            self.assertIn(fragment, str(cm.exception))
        return cm.exception

    def make_43_db(self, revision=migrate.BUILDBOT_4_3_HEAD):
        """A database like Buildbot 4.3 leaves it: the schema, stamped ``revision``."""
        engine = self.make_engine()
        with engine.begin() as conn:
            model.Model.metadata.create_all(conn)
            stamp(conn, revision)
        return engine

    def table_names(self, engine):
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())

    def test_head_is_buildbot_4_3_head(self):
        self.assertEqual(migrate.BUILDBOT_4_3_HEAD, "067")
        self.assertEqual(migrate.head_revision(), "067")
        self.assertIn("067", migrate.known_revisions())

    def test_head_revision_constant_is_the_scripts_head(self):
        # a new migration must move HEAD_REVISION too
        self.assertEqual(migrate.HEAD_REVISION, migrate.head_revision())

    def test_a_current_database_is_checked_without_alembic(self):
        # alembic and mako weigh ~7 MB; a master at head must not load them, nor
        # autobahn (msgpack workers only), requests (txrequests sessions only) or
        # jinja2 (the UI page, reporters), which the master's imports leave out too
        engine = self.make_engine()
        migrate.thd_upgrade(engine)
        script = textwrap.dedent(
            f"""
            import sys
            import sqlalchemy as sa
            import buildbot.master
            import buildbot.util.httpclientservice
            import buildbot.www.service
            from buildbot.db import migrate
            engine = sa.create_engine({str(engine.url)!r})
            with engine.connect() as conn:
                print(migrate.thd_inspect(conn).status.name)
            lazy = ("alembic", "mako", "autobahn", "requests", "txrequests", "jinja2")
            print(sorted(m for m in lazy if m in sys.modules))
            """
        )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split("\n")[:2], ["CURRENT", "[]"])

    def test_fresh_database_is_created_at_head(self):
        engine = self.make_engine()
        state = migrate.thd_upgrade(engine)
        self.assertEqual(state.status, migrate.Status.EMPTY)
        with engine.connect() as conn:
            self.assertTrue(migrate.thd_is_current(conn))
            migrate.thd_check_current(conn)  # does not raise
            self.assertEqual(
                MigrationContext.configure(conn).get_current_revision(), migrate.head_revision()
            )
        self.assertEqual(
            self.table_names(engine), set(model.Model.metadata.tables) | {"alembic_version"}
        )

    def test_upgrade_at_head_does_nothing(self):
        engine = self.make_43_db()
        state = migrate.thd_upgrade(engine)
        self.assertEqual(state.status, migrate.Status.CURRENT)
        self.assertEqual(state.revision, "067")

    def test_buildbot_4_3_database_is_current(self):
        engine = self.make_43_db()
        with engine.connect() as conn:
            self.assertTrue(migrate.thd_is_current(conn))
        self.assertTrue(self.inspect(engine).is_current)

    def test_empty_database_needs_upgrade_master(self):
        engine = self.make_engine()
        exc = self.check_error(engine, migrate.DatabaseNeedsUpgradeError, "buildbot upgrade-master")
        self.assertIsNone(exc.revision)

    def test_unknown_revision(self):
        engine = self.make_43_db("067")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '099'"))
        exc = self.check_error(
            engine, migrate.UnknownDatabaseRevisionError, "'099'", "newer Buildbot"
        )
        self.assertEqual(exc.revision, "099")
        self.assertIsInstance(exc, migrate.DatabaseNotReadyError)
        with self.assertRaises(migrate.UnknownDatabaseRevisionError):
            migrate.thd_upgrade(engine)
        with engine.connect() as conn:  # untouched
            self.assertEqual(MigrationContext.configure(conn).get_current_revision(), "099")

    def test_older_buildbot_revision(self):
        engine = self.make_43_db("067")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '063'"))
        exc = self.check_error(engine, migrate.DatabaseTooOldError, "063", "Buildbot 4.3")
        self.assertEqual(exc.revision, "063")
        with self.assertRaises(migrate.DatabaseTooOldError):
            migrate.thd_upgrade(engine)

    def test_sqlalchemy_migrate_table(self):
        for version, advice in ((58, "Buildbot 4.3"), (45, "Buildbot 2.10")):
            engine = self.make_engine()
            with engine.begin() as conn:
                conn.execute(
                    sa.text("CREATE TABLE migrate_version (repository_id TEXT, version INT)")
                )
                conn.execute(
                    sa.text("INSERT INTO migrate_version VALUES ('Buildbot', :v)"), {"v": version}
                )
                conn.execute(sa.text("CREATE TABLE changes (changeid INTEGER PRIMARY KEY)"))
            self.check_error(
                engine, migrate.DatabaseTooOldError, "migrate_version", str(version), advice
            )
            with self.assertRaises(migrate.DatabaseTooOldError):
                migrate.thd_upgrade(engine)
            self.assertEqual(self.table_names(engine), {"migrate_version", "changes"})

    def test_buildbot_0_8_version_table(self):
        engine = self.make_engine()
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE version (version INTEGER)"))
        self.check_error(engine, migrate.DatabaseTooOldError, "'version' table", "0.8")

    def test_tables_without_version(self):
        engine = self.make_engine()
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE something (id INTEGER)"))
        self.check_error(engine, migrate.UnknownDatabaseRevisionError, "no schema version")
        with self.assertRaises(migrate.UnknownDatabaseRevisionError):
            migrate.thd_upgrade(engine)
        self.assertEqual(self.table_names(engine), {"something"})

    def test_empty_version_table_counts_as_empty(self):
        engine = self.make_engine()
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        self.assertEqual(self.inspect(engine).status, migrate.Status.EMPTY)
        migrate.thd_upgrade(engine)
        self.assertTrue(self.inspect(engine).is_current)

    def test_creating_elsewhere_first_keeps_sqlite_foreign_keys(self):
        """Creating the model on a back-end with ALTER must not change it for SQLite."""
        for fk in model.Model.metadata.tables["builds"].foreign_key_constraints:
            if fk.use_alter:
                # what create_all does on PostgreSQL/MySQL for the cyclic keys
                self.addCleanup(setattr, fk, "_create_rule", getattr(fk, "_create_rule", None))
                sa.schema.AddConstraint(fk)
        engine = self.make_engine()
        migrate.thd_upgrade(engine)
        with engine.connect() as conn:
            fks = sa.inspect(conn).get_foreign_keys("builds")
        self.assertIn("buildrequestid", [fk["name"] for fk in fks])

    def test_alembic_config_needs_no_ini_file(self):
        config = migrate.alembic_config()
        self.assertIsNone(config.config_file_name)
        self.assertEqual(config.get_main_option("script_location"), migrate.MIGRATIONS_DIR)


class TestMigrationChain(SqliteDbMixin, unittest.TestCase):
    """Databases below head are upgraded by alembic: tried with a made-up next revision."""

    def setUp(self):
        tmp = os.path.abspath(self.mktemp())
        shutil.copytree(migrate.MIGRATIONS_DIR, tmp, ignore=shutil.ignore_patterns("__pycache__"))
        with open(os.path.join(tmp, "versions", "cr900_test.py"), "w") as f:
            f.write(
                textwrap.dedent(
                    """\
                    import sqlalchemy as sa
                    from alembic import op

                    revision = "cr900"
                    down_revision = "067"
                    branch_labels = None
                    depends_on = None


                    def upgrade():
                        op.create_table("cr900_extra", sa.Column("id", sa.Integer))
                        with op.batch_alter_table("workers") as batch:
                            batch.add_column(sa.Column("cr900_col", sa.Integer, nullable=True))


                    def downgrade():
                        raise NotImplementedError
                    """
                )
            )
        self.patch(migrate, "MIGRATIONS_DIR", tmp)
        self.patch(migrate, "HEAD_REVISION", "cr900")
        migrate.script_directory.cache_clear()
        self.addCleanup(migrate.script_directory.cache_clear)

    def test_upgrade_from_067(self):
        self.assertEqual(migrate.head_revision(), "cr900")
        engine = self.make_engine()
        with engine.begin() as conn:
            model.Model.metadata.create_all(conn)
            stamp(conn, "067")
            conn.execute(model.workers.insert().values(name="w1", info="{}"))

        with engine.connect() as conn:
            state = migrate.thd_inspect(conn)
            self.assertEqual(state.status, migrate.Status.BEHIND)
            with self.assertRaises(migrate.DatabaseNeedsUpgradeError) as cm:
                migrate.thd_check_current(conn)
            self.assertIn("buildbot upgrade-master", str(cm.exception))

        self.assertEqual(migrate.thd_upgrade(engine).status, migrate.Status.BEHIND)

        with engine.connect() as conn:
            self.assertTrue(migrate.thd_is_current(conn))
            self.assertIn("cr900_extra", sa.inspect(conn).get_table_names())
            rows = conn.execute(sa.text("SELECT name, cr900_col FROM workers")).all()
        self.assertEqual([tuple(r) for r in rows], [("w1", None)])
