from __future__ import annotations

import os
import threading

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool
from twisted.trial import unittest

from buildbot.db import enginestrategy


def have(module):
    return enginestrategy._installed(module)


class TestResolveUrl(unittest.TestCase):
    def test_sqlite_relative_path_is_under_basedir(self):
        url, _ = enginestrategy.resolve_url("sqlite:///state.sqlite", "/srv/master")
        self.assertEqual(url.database, "/srv/master/state.sqlite")

    def test_sqlite_relative_subdirectory(self):
        url, _ = enginestrategy.resolve_url("sqlite:///db/state.sqlite", "/srv/master")
        self.assertEqual(url.database, "/srv/master/db/state.sqlite")

    def test_sqlite_relative_basedir_made_absolute(self):
        url, _ = enginestrategy.resolve_url("sqlite:///state.sqlite", "master")
        self.assertEqual(url.database, os.path.join(os.getcwd(), "master", "state.sqlite"))

    def test_sqlite_absolute_path_kept(self):
        url, _ = enginestrategy.resolve_url("sqlite:////var/lib/bb/state.sqlite", "/srv/master")
        self.assertEqual(url.database, "/var/lib/bb/state.sqlite")

    def test_sqlite_busy_timeout(self):
        _, kwargs = enginestrategy.resolve_url("sqlite:///state.sqlite", "/srv")
        self.assertEqual(kwargs["connect_args"]["timeout"], enginestrategy.SQLITE_BUSY_TIMEOUT)
        _, kwargs = enginestrategy.resolve_url("sqlite:///state.sqlite?timeout=30", "/srv")
        self.assertNotIn("timeout", kwargs["connect_args"])

    def test_sqlite_memory(self):
        for db_url in ("sqlite://", "sqlite:///:memory:"):
            url, kwargs = enginestrategy.resolve_url(db_url, "/srv/master")
            self.assertEqual(url.database, ":memory:")
            self.assertIs(kwargs["poolclass"], StaticPool)

    def test_postgresql_driver(self):
        url, _ = enginestrategy.resolve_url("postgresql://bb:pw@db.example/buildbot", "/srv")
        expected = "postgresql+psycopg" if have("psycopg") else "postgresql"
        self.assertEqual(url.drivername, expected)
        self.assertEqual((url.host, url.database, url.username), ("db.example", "buildbot", "bb"))

    def test_postgresql_explicit_driver_kept(self):
        url, _ = enginestrategy.resolve_url("postgresql+psycopg2://h/db", "/srv")
        self.assertEqual(url.drivername, "postgresql+psycopg2")

    def test_postgres_alias(self):
        url, _ = enginestrategy.resolve_url("postgres://h/db", "/srv")
        self.assertEqual(url.get_backend_name(), "postgresql")

    def test_mysql(self):
        url, kwargs = enginestrategy.resolve_url("mysql://bb:pw@db/buildbot", "/srv")
        expected = "mysql+pymysql" if have("pymysql") else "mysql"
        self.assertEqual(url.drivername, expected)
        self.assertEqual(url.query["charset"], "utf8mb4")
        self.assertEqual(kwargs["pool_recycle"], enginestrategy.MYSQL_POOL_RECYCLE)

    def test_mysql_explicit_charset_and_driver_kept(self):
        url, _ = enginestrategy.resolve_url("mysql+mysqldb://db/buildbot?charset=utf8", "/srv")
        self.assertEqual(url.drivername, "mysql+mysqldb")
        self.assertEqual(url.query["charset"], "utf8")

    def test_mariadb(self):
        url, _ = enginestrategy.resolve_url("mariadb://db/buildbot", "/srv")
        self.assertEqual(url.get_backend_name(), "mariadb")
        self.assertEqual(url.query["charset"], "utf8mb4")


class TestCreateEngine(unittest.TestCase):
    def make_basedir(self):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        return basedir

    def engine(self, db_url, basedir=None, **kwargs):
        engine = enginestrategy.create_engine(db_url, basedir or self.make_basedir(), **kwargs)
        self.addCleanup(engine.dispose)
        return engine

    def test_sqlite_file_in_basedir_with_wal(self):
        basedir = self.make_basedir()
        engine = self.engine("sqlite:///state.sqlite", basedir)
        with engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA journal_mode").scalar(), "wal")
            self.assertEqual(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), 5000)
            # as in Buildbot 4.3, SQLite does not enforce foreign keys
            self.assertEqual(conn.exec_driver_sql("PRAGMA foreign_keys").scalar(), 0)
            self.assertEqual(conn.exec_driver_sql("PRAGMA synchronous").scalar(), 1)  # NORMAL
        self.assertTrue(os.path.exists(os.path.join(basedir, "state.sqlite")))
        self.assertEqual(enginestrategy.thread_pool_size(engine), 1)

    def test_sqlite_synchronous_from_url(self):
        engine = self.engine("sqlite:///state.sqlite?synchronous=full")
        with engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA synchronous").scalar(), 2)  # FULL

    def test_sqlite_synchronous_bad_value(self):
        with self.assertRaises(ValueError) as cm:
            enginestrategy.create_engine("sqlite:///state.sqlite?synchronous=often", ".")
        self.assertIn("synchronous='often'", str(cm.exception))

    def test_engine_kwargs_override(self):
        engine = self.engine("sqlite:///state.sqlite", connect_args={"timeout": 0.5})
        with engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("PRAGMA busy_timeout").scalar(), 500)

    def test_sqlite_transactions_are_real(self):
        """A SELECT opens the transaction: a rolled-back insert leaves nothing."""
        engine = self.engine("sqlite:///state.sqlite")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            self.assertTrue(conn.connection.dbapi_connection.in_transaction)
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.rollback()
            # a savepoint works too
            with conn.begin():
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
                nested = conn.begin_nested()
                conn.exec_driver_sql("INSERT INTO t VALUES (3)")
                nested.rollback()
            self.assertEqual(conn.exec_driver_sql("SELECT x FROM t").scalars().all(), [2])

    def test_sqlite_memory_is_shared_between_threads(self):
        engine = self.engine("sqlite://")
        self.assertIsInstance(engine.pool, StaticPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (7)")
        found = []

        def other_thread():
            with engine.connect() as conn:
                found.append(conn.exec_driver_sql("SELECT x FROM t").scalar())

        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        self.assertEqual(found, [7])
        self.assertEqual(enginestrategy.thread_pool_size(engine), 1)

    def test_postgresql_engine_is_lazy(self):
        if not (have("psycopg") or have("psycopg2")):
            raise unittest.SkipTest("no PostgreSQL driver installed")
        engine = self.engine("postgresql://bb@localhost/buildbot")
        self.assertEqual(engine.dialect.name, "postgresql")
        self.assertEqual(enginestrategy.thread_pool_size(engine), 15)
        engine = self.engine("postgresql://bb@localhost/buildbot", pool_size=3, max_overflow=0)
        self.assertEqual(enginestrategy.thread_pool_size(engine), 3)

    def test_mysql_engine_is_lazy(self):
        if not have("pymysql"):
            raise unittest.SkipTest("PyMySQL not installed")
        engine = self.engine("mysql://bb@localhost/buildbot")
        self.assertEqual(engine.dialect.driver, "pymysql")
        self.assertEqual(engine.pool._recycle, enginestrategy.MYSQL_POOL_RECYCLE)
        engine = self.engine("mysql://bb@localhost/buildbot", pool_recycle=60)
        self.assertEqual(engine.pool._recycle, 60)

    def test_thread_pool_size_of_foreign_engine(self):
        engine = sa.create_engine("sqlite://")
        self.addCleanup(engine.dispose)
        self.assertEqual(enginestrategy.thread_pool_size(engine), 1)
