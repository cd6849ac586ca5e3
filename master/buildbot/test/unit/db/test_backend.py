"""The schema, migrations and the pool on real PostgreSQL and MySQL/MariaDB servers.

The servers are the test suite's (``BUILDBOT_TEST_POSTGRESQL_URL``,
``BUILDBOT_TEST_MYSQL_URL``, set by ``make test``); each test gets a new empty
database of its own.  Without a URL the tests are skipped, except under CI.
SQLite is covered by the other modules.
"""

from __future__ import annotations

import os
import threading

import sqlalchemy as sa
from twisted.internet import defer, reactor
from twisted.trial import unittest

from buildbot.db import enginestrategy, migrate, model, pool
from buildbot.test.unit.db import schema_facts
from buildbot.test.unit.db.test_model import SPEC_TABLES, _parse_index

ENV_URLS = {"postgresql": "BUILDBOT_TEST_POSTGRESQL_URL", "mysql": "BUILDBOT_TEST_MYSQL_URL"}


def server_url(backend: str) -> sa.URL:
    var = ENV_URLS[backend]
    url = os.environ.get(var)
    if not url:
        message = f"{var} is not set: run the suite with `make test`, which starts the server"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise RuntimeError(message)
        raise unittest.SkipTest(message)
    return sa.engine.make_url(url)


class _ServerDatabaseMixin:
    """Gives each test ``self.engine`` on a new, empty database of the server."""

    backend = ""

    def setUp(self):
        url = server_url(self.backend)
        name = f"bbtest_{os.getpid()}_schema"
        quote = '"' if self.backend == "postgresql" else "`"
        admin_url = url.set(database=None) if self.backend == "mysql" else url
        admin = enginestrategy.create_engine(admin_url, isolation_level="AUTOCOMMIT")

        def drop():
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")
            admin.dispose()

        drop()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")
        self.addCleanup(drop)

        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        self.engine = enginestrategy.create_engine(url.set(database=name), basedir)
        self.addCleanup(self.engine.dispose)  # runs before drop()


class Tests:
    """Written once, run on each server."""

    def test_created_at_head_with_the_spec_schema(self):
        self.assertEqual(migrate.thd_upgrade(self.engine).status, migrate.Status.EMPTY)
        with self.engine.connect() as conn:
            self.assertTrue(migrate.thd_is_current(conn))
            facts = schema_facts.reflect_schema(conn)
        self.assertEqual(sorted(facts), sorted(SPEC_TABLES))
        for name, (columns, indexes) in SPEC_TABLES.items():
            self.assertEqual([c["name"] for c in facts[name]["columns"]], columns.split())
            for spec in indexes:
                ix_name, unique, cols = _parse_index(spec)
                self.assertEqual(facts[name]["indexes"][ix_name]["columns"], cols, ix_name)
                self.assertEqual(facts[name]["indexes"][ix_name]["unique"], unique, ix_name)

    def test_foreign_keys_and_their_actions(self):
        migrate.thd_upgrade(self.engine)
        with self.engine.connect() as conn:
            insp = sa.inspect(conn)
            got = {
                (
                    table,
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    fk["options"].get("ondelete"),
                )
                for table in insp.get_table_names()
                for fk in insp.get_foreign_keys(table)
            }
        expected = {
            (t.name, (fk.parent.name,), fk.column.table.name, fk.ondelete)
            for t in model.Model.metadata.tables.values()
            for fk in t.foreign_keys
        }
        self.assertEqual(got, expected)

    def test_mysql_tables_are_innodb_utf8mb4(self):
        if self.backend != "mysql":
            raise unittest.SkipTest("MySQL only")
        migrate.thd_upgrade(self.engine)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT table_name, engine, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE()"
            ).all()
        self.assertEqual(len(rows), len(model.Model.metadata.tables) + 1)  # + alembic_version
        for table, engine, collation in rows:
            if table != "alembic_version":
                self.assertEqual(engine, "InnoDB", table)
                self.assertTrue(collation.startswith("utf8mb4"), (table, collation))

    def test_unknown_revision_refused(self):
        migrate.thd_upgrade(self.engine)
        with self.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '099'"))
        with self.engine.connect() as conn:
            with self.assertRaises(migrate.UnknownDatabaseRevisionError):
                migrate.thd_check_current(conn)

    @defer.inlineCallbacks
    def test_pool_transactions(self):
        migrate.thd_upgrade(self.engine)
        p = pool.DBThreadPool(self.engine, reactor, retry_backoff=0.001)
        self.addCleanup(p.shutdown)
        workers = model.workers

        def thd_insert(conn, *names, fail=False):
            for name in names:
                conn.execute(workers.insert().values(name=name, info="{}"))
            if fail:
                raise ValueError("after the inserts")

        def thd_names(conn):
            return conn.execute(sa.select(workers.c.name).order_by(workers.c.id)).scalars().all()

        yield p.do(thd_insert, "w1", "w2")
        with self.assertRaises(ValueError):
            yield p.do(thd_insert, "w3", "w4", fail=True)
        with self.assertRaises(sa.exc.IntegrityError):
            yield p.do(thd_insert, "w5", "w1")
        self.assertEqual((yield p.do(thd_names)), ["w1", "w2"])

    @defer.inlineCallbacks
    def test_deadlock_is_retried(self):
        """Two transactions lock two rows in opposite orders: the victim runs again."""
        migrate.thd_upgrade(self.engine)
        p = pool.DBThreadPool(self.engine, reactor, max_threads=2, retry_backoff=0.01)
        self.addCleanup(p.shutdown)
        workers = model.workers
        with self.engine.begin() as conn:
            conn.execute(workers.insert(), [{"name": n, "info": "{}"} for n in "ab"])
        first_locked, second_locked = threading.Event(), threading.Event()
        runs = []

        def thd_update(conn, mine, theirs, locked, wait_for, value):
            runs.append(value)
            conn.execute(workers.update().where(workers.c.name == mine).values(paused=value))
            locked.set()
            wait_for.wait(10)
            conn.execute(workers.update().where(workers.c.name == theirs).values(paused=value))

        yield defer.gatherResults(
            [
                p.do(thd_update, "a", "b", first_locked, second_locked, 1),
                p.do(thd_update, "b", "a", second_locked, first_locked, 2),
            ]
        )
        self.assertEqual(len(runs), 3)  # one of them ran twice
        with self.engine.connect() as conn:
            paused = set(conn.execute(sa.select(workers.c.paused)).scalars())
        self.assertEqual(len(paused), 1)  # the retried one wrote both rows last


class TestPostgreSQL(_ServerDatabaseMixin, Tests, unittest.TestCase):
    backend = "postgresql"


class TestMySQL(_ServerDatabaseMixin, Tests, unittest.TestCase):
    backend = "mysql"
