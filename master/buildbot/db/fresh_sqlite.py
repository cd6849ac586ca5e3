"""A new SQLite database made from a stored schema, without importing SQLAlchemy.

`buildbot create-master` with the default database would spend most of its time
importing SQLAlchemy and having it compile the model into DDL. For a new SQLite
file, the DDL is always the same: `sqlite_schema.sql` beside this module holds
it, with the stamp of the schema revision. A test compares a database made from
it with one made from the model by SQLAlchemy, object by object; after a change
to the model, `python -m buildbot.db.fresh_sqlite` writes the file again.
Anything else (another back-end, a URL with options, a file that is not empty)
goes the usual way.
"""

from __future__ import annotations

import os
import re
import sqlite3

_STAMP = re.compile(r"INSERT INTO alembic_version \(version_num\) VALUES \('([^']+)'\)")
SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "sqlite_schema.sql")


def plain_sqlite_path(url: str, basedir: str) -> str | None:
    """The file of a plain `sqlite:///path` URL (no options), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    if not path or path.startswith("file:") or path == ":memory:":
        return None
    return os.path.join(basedir, os.path.expanduser(path))


def is_new(path: str) -> bool:
    """No file there yet, or an empty one."""
    return not os.path.exists(path) or os.path.getsize(path) == 0


def create(path: str) -> str:
    """Create the schema in the new SQLite file at `path`; returns the revision."""
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        script = f.read()
    match = _STAMP.search(script)
    if match is None:
        raise ValueError(f"{SCHEMA_FILE} has no schema revision")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # all or nothing: a failure leaves the file empty, to be made again
        conn.executescript("BEGIN;\n" + script + "\nCOMMIT;")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return match.group(1)


def schema_of(conn: sqlite3.Connection) -> list[str]:
    """The DDL of a database's own objects, in creation order, then its stamp."""
    rows = conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        " ORDER BY rowid"
    ).fetchall()
    stamps = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return [row[0] for row in rows] + [
        f"INSERT INTO alembic_version (version_num) VALUES ('{v}')" for (v,) in stamps
    ]


def thd_generate(path: str) -> str:
    """The schema file's text, from a database SQLAlchemy creates from the model."""
    from buildbot.db import enginestrategy, migrate

    engine = enginestrategy.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
    finally:
        engine.dispose()
    conn = sqlite3.connect(path)
    try:
        return ";\n".join(schema_of(conn)) + ";\n"
    finally:
        conn.close()


if __name__ == "__main__":  # pragma: no cover - the maintainers' regeneration step
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        text = thd_generate(os.path.join(tmp, "model.sqlite"))
    with open(SCHEMA_FILE, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {SCHEMA_FILE}")
