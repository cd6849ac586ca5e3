"""One DB test suite, four back-ends: the fake, SQLite, PostgreSQL and MySQL/MariaDB.

    class Tests:                       # the behaviour, written once
        async def test_something(self):
            await self.insert_test_data([fakedb.Master(id=1)])
            ...self.db.masters...

    class TestFake(Tests, FakeDBMixin, unittest.TestCase): pass
    class TestSQLite(Tests, SQLiteDBMixin, unittest.TestCase): pass
    class TestPostgreSQL(Tests, PostgreSQLDBMixin, unittest.TestCase): pass
    class TestMySQL(Tests, MySQLDBMixin, unittest.TestCase): pass

Test methods may be `async def` (trial runs coroutines). The server
back-ends read BUILDBOT_TEST_POSTGRESQL_URL and BUILDBOT_TEST_MYSQL_URL (which
`make test` sets after starting the servers); without them the tests are
skipped, except under CI, where a missing server is a failure. Each test
process gets its own database (``bbtest_<pid>``), created with the schema
once and emptied before every test.
"""

from __future__ import annotations

import atexit
import os

import sqlalchemy as sa
from twisted.internet import defer
from twisted.trial import unittest

from buildbot.db import connector, migrate, model
from buildbot.test.fake import fakemaster
from buildbot.test.fakedb import FakeDBConnector

ENV_URLS = {
    "postgresql": "BUILDBOT_TEST_POSTGRESQL_URL",
    "mysql": "BUILDBOT_TEST_MYSQL_URL",
}

# backend -> URL of this process's own test database, schema created
_prepared: dict[str, str] = {}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _server_url(backend: str) -> str:
    var = ENV_URLS[backend]
    url = os.environ.get(var)
    if not url:
        message = f"{var} is not set: run the suite with `make test`, which starts the server"
        if _in_ci():
            raise RuntimeError(message)
        raise unittest.SkipTest(message)
    return url


def _prepare_server_database(backend: str) -> str:
    """Create this process's database on the server, with the schema, once."""
    if backend in _prepared:
        return _prepared[backend]
    server_url = sa.engine.make_url(_server_url(backend))
    # MySQL connects to the server alone; PostgreSQL needs some database to start from.
    admin_url = server_url._replace(database=None) if backend == "mysql" else server_url
    name = f"bbtest_{os.getpid()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    quote = '"' if backend == "postgresql" else "`"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")
        extra = " CHARACTER SET utf8mb4" if backend == "mysql" else ""
        conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}{extra}")
    admin.dispose()

    def drop() -> None:  # best effort, at the end of the test process
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")
        except Exception:
            pass
        engine.dispose()

    atexit.register(drop)
    url = server_url.set(database=name)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate.thd_create_tables(conn)
    engine.dispose()
    _prepared[backend] = url.render_as_string(hide_password=False)
    return _prepared[backend]


def thd_empty_tables(conn: sa.Connection) -> None:
    """Delete every row and restart the id counters, fastest way per back-end."""
    tables = list(reversed(model.Model.metadata.sorted_tables))
    dialect = conn.dialect.name
    if dialect == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    elif dialect == "mysql":
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for t in tables:
            conn.exec_driver_sql(f"TRUNCATE TABLE `{t.name}`")
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    else:
        for t in tables:
            conn.execute(t.delete())


class _DBMixinBase:
    backend = ""

    async def setUp(self) -> None:
        from twisted.internet import reactor

        self.master = fakemaster.make_master(self, reactor=reactor)
        self.db = await self.make_connector()
        self.master.db = self.db

    def insert_test_data(self, rows) -> defer.Deferred:
        return self.db_insert_test_data(self.db, rows)


class FakeDBMixin(_DBMixinBase):
    backend = "fake"

    async def make_connector(self):
        db = FakeDBConnector(self.master.basedir)
        await db.setServiceParent(self.master)
        return db

    @staticmethod
    def db_insert_test_data(db, rows):
        return db.insert_test_data(rows)


class _RealDBMixin(_DBMixinBase):
    def db_url(self) -> str:
        raise NotImplementedError

    async def make_connector(self):
        url = self.db_url()
        db = connector.DBConnector(self.master.basedir)
        await db.setServiceParent(self.master)
        await db.setup(db_url=url)
        await db.pool.do(thd_empty_tables)
        self.addCleanup(db.pool.shutdown)
        return db

    @staticmethod
    def db_insert_test_data(db, rows):
        rows = list(rows)

        def thdInsert(conn: sa.Connection) -> None:
            touched = set()
            for row in rows:
                table = db.model.metadata.tables[row.table]
                conn.execute(table.insert().values(**row.values))
                touched.add(table)
            if conn.dialect.name == "postgresql":
                # explicit ids do not move PostgreSQL's sequences: move them
                for table in touched:
                    pk = list(table.primary_key.columns)
                    if (
                        len(pk) == 1
                        and pk[0].autoincrement is not False
                        and isinstance(pk[0].type, sa.Integer)
                        and not pk[0].foreign_keys
                    ):
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                            f"'{pk[0].name}'), COALESCE(MAX({pk[0].name}), 0) + 1, false) "
                            f"FROM {table.name}"
                        )

        return db.pool.do(thdInsert)


class SQLiteDBMixin(_RealDBMixin):
    backend = "sqlite"

    def db_url(self) -> str:
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()
        return f"sqlite:///{path}"


class PostgreSQLDBMixin(_RealDBMixin):
    backend = "postgresql"

    def db_url(self) -> str:
        return _prepare_server_database("postgresql")


class MySQLDBMixin(_RealDBMixin):
    backend = "mysql"

    def db_url(self) -> str:
        return _prepare_server_database("mysql")


ALL_BACKENDS = (FakeDBMixin, SQLiteDBMixin, PostgreSQLDBMixin, MySQLDBMixin)


def backend_test_cases(tests: type) -> tuple[type, ...]:
    """The four TestCase classes that run the behaviour suite `tests` on each back-end.

    TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
    """
    cases = []
    for mixin in ALL_BACKENDS:
        name = "Test" + mixin.__name__.removesuffix("DBMixin")
        cls = type(name, (tests, mixin, unittest.TestCase), {"__module__": tests.__module__})
        cls.__qualname__ = name
        cases.append(cls)
    return tuple(cases)
