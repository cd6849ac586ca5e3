"""A new SQLite database from the stored schema is the one SQLAlchemy makes from the model."""

import os
import sqlite3

import sqlalchemy as sa
from twisted.trial import unittest

from buildbot.db import enginestrategy, fresh_sqlite, migrate

_CONSTRAINTS = ("CONSTRAINT", "FOREIGN KEY", "UNIQUE", "CHECK")


def canonical(statements):
    """The statements in a comparable form: SQLAlchemy orders a table's constraints,
    and the indexes of a table, as its sets happen to iterate, which differs between
    runs; columns keep their order."""
    out = []
    for sql in statements:
        lines = [line.strip().rstrip(",") for line in sql.splitlines()]
        constraints = sorted(line for line in lines if line.startswith(_CONSTRAINTS))
        columns = tuple(line for line in lines if not line.startswith(_CONSTRAINTS))
        out.append(columns + tuple(constraints))
    return sorted(out)


class TestFreshSqlite(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)

    def path(self, name):
        return os.path.join(self.basedir, name)

    def schema(self, name):
        conn = sqlite3.connect(self.path(name))
        try:
            return fresh_sqlite.schema_of(conn)
        finally:
            conn.close()

    def test_same_database_as_the_model_makes(self):
        # fails after a change to the model until `python -m buildbot.db.fresh_sqlite`
        # writes the schema file again
        fresh_sqlite.thd_generate(self.path("model.sqlite"))
        revision = fresh_sqlite.create(self.path("fresh.sqlite"))
        self.assertEqual(revision, migrate.HEAD_REVISION)
        self.assertEqual(
            canonical(self.schema("fresh.sqlite")), canonical(self.schema("model.sqlite"))
        )

    def test_the_master_takes_it_as_current_and_in_wal_mode(self):
        fresh_sqlite.create(self.path("state.sqlite"))
        engine = enginestrategy.create_engine("sqlite:///state.sqlite", self.basedir)
        try:
            with engine.connect() as conn:
                self.assertTrue(migrate.thd_is_current(conn))
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
                self.assertEqual(mode, "wal")
                conn.execute(
                    sa.text(
                        "INSERT INTO masters (name, name_hash, active, last_active)"
                        " VALUES ('m', 'h', 1, 0)"
                    )
                )
        finally:
            engine.dispose()

    def test_a_failing_script_leaves_an_empty_file(self):
        bad = self.path("bad.sql")
        with open(bad, "w") as f:
            f.write(
                "CREATE TABLE t (id INTEGER);\nCREATE TABLE t (id INTEGER);\n"
                "INSERT INTO alembic_version (version_num) VALUES ('067');\n"
            )
        self.patch(fresh_sqlite, "SCHEMA_FILE", bad)
        with self.assertRaises(sqlite3.OperationalError):
            fresh_sqlite.create(self.path("state.sqlite"))
        conn = sqlite3.connect(self.path("state.sqlite"))
        try:
            self.assertEqual(conn.execute("SELECT count(*) FROM sqlite_master").fetchone(), (0,))
        finally:
            conn.close()

    def test_is_new(self):
        self.assertTrue(fresh_sqlite.is_new(self.path("none.sqlite")))
        open(self.path("empty.sqlite"), "w").close()
        self.assertTrue(fresh_sqlite.is_new(self.path("empty.sqlite")))
        fresh_sqlite.create(self.path("made.sqlite"))
        self.assertFalse(fresh_sqlite.is_new(self.path("made.sqlite")))

    def test_plain_sqlite_path(self):
        path = fresh_sqlite.plain_sqlite_path
        self.assertEqual(path("sqlite:///state.sqlite", "/m"), "/m/state.sqlite")
        self.assertEqual(path("sqlite:////abs/x.db", "/m"), "/abs/x.db")
        for url in (
            "sqlite://",
            "sqlite:///:memory:",
            "sqlite:///state.sqlite?synchronous=full",
            "sqlite:///file:x.db?mode=ro&uri=true",
            "postgresql://u@h/db",
            "sqlite+pysqlite:///state.sqlite",
        ):
            self.assertIsNone(path(url, "/m"), url)
