"""Turning the configured ``db_url`` into a SQLAlchemy engine.

What each back-end gets:

* SQLite: a relative file path is taken relative to the master's basedir; every
  connection is put in WAL journal mode with ``synchronous=NORMAL`` (see
  `SQLITE_SYNCHRONOUS`; ``?synchronous=full`` in the URL asks for more), waits up
  to `SQLITE_BUSY_TIMEOUT`
  seconds for a lock, and runs real ``BEGIN``/``COMMIT`` transactions (the
  driver's own implicit transaction handling is switched off, so reads and
  writes of one `DBThreadPool.do` call see one snapshot and savepoints work).
  Foreign keys are not enforced, as in Buildbot 4.3.  ``sqlite://`` and
  ``sqlite:///:memory:`` give one shared in-memory database.  One thread writes.
* PostgreSQL: ``postgresql://`` uses psycopg (3) when it is installed, else
  SQLAlchemy's default, psycopg2; an explicit ``postgresql+driver://`` is kept.
* MySQL/MariaDB: ``mysql://`` and ``mariadb://`` use PyMySQL when it is
  installed; the connection character set is ``utf8mb4`` and connections are
  recycled after an hour (servers drop idle ones).

`create_engine` records on the engine how many threads should use it
(``engine.optimal_thread_pool_size``, read back with `thread_pool_size`): one
for SQLite, else as many as the connection pool may open (``pool_size +
max_overflow``, 15 by default).
Keyword arguments given by the user (``c['db']['engine_kwargs']``) override
every default chosen here.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT = 5.0  # seconds; what Buildbot 4.3 gets from the sqlite3 default
# In WAL mode NORMAL never corrupts the database; it skips the fsync of each commit,
# so an OS crash or power loss (not a master crash) may undo the last few
# transactions.  A fsync per commit was half of the DB thread's time under load.
SQLITE_SYNCHRONOUS = "NORMAL"
_SQLITE_SYNCHRONOUS_VALUES = ("OFF", "NORMAL", "FULL", "EXTRA")
MYSQL_POOL_RECYCLE = 3600  # seconds
DEFAULT_POOL_SIZE = 5  # SQLAlchemy's QueuePool defaults
DEFAULT_MAX_OVERFLOW = 10

_MEMORY_DATABASES = (None, "", ":memory:")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in _MEMORY_DATABASES


def resolve_url(db_url: str | URL, basedir: str = ".") -> tuple[URL, dict[str, Any]]:
    """The URL to connect to and the default engine arguments for it.

    Pure: nothing is connected or imported, so this is what tests look at.
    """
    url = sa.engine.make_url(db_url)
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}

    if backend == "postgres":  # the old alias SQLAlchemy no longer accepts
        url = url.set(drivername=url.drivername.replace("postgres", "postgresql", 1))
        backend = "postgresql"

    if backend == "sqlite":
        if is_sqlite_memory(url):
            url = url.set(database=":memory:")
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            database = url.database
            if not database.startswith("file:"):  # sqlite URI filenames stay as given
                database = os.path.join(basedir, os.path.expanduser(database))
                url = url.set(database=os.path.abspath(database))
            kwargs["connect_args"] = {"check_same_thread": False}
        if "timeout" not in url.query:
            kwargs["connect_args"]["timeout"] = SQLITE_BUSY_TIMEOUT
        synchronous = url.query.get("synchronous", SQLITE_SYNCHRONOUS)
        if not isinstance(synchronous, str) or (
            synchronous.upper() not in _SQLITE_SYNCHRONOUS_VALUES
        ):
            raise ValueError(
                f"db_url: synchronous={synchronous!r} is not one of "
                + ", ".join(v.lower() for v in _SQLITE_SYNCHRONOUS_VALUES)
            )
        url = url.difference_update_query(["synchronous"])
        kwargs["sqlite_synchronous"] = synchronous.upper()

    elif backend == "postgresql":
        # no driver named: prefer psycopg 3 when it is there
        if "+" not in url.drivername and _installed("psycopg"):
            url = url.set(drivername="postgresql+psycopg")

    elif backend in ("mysql", "mariadb"):
        if "+" not in url.drivername and _installed("pymysql"):
            url = url.set(drivername=f"{backend}+pymysql")
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        kwargs["pool_recycle"] = MYSQL_POOL_RECYCLE

    return url, kwargs


def _set_up_sqlite(engine: Engine, memory: bool, synchronous: str) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy's "begin" event below open transactions, instead of the
        # sqlite3 module guessing where they start (it never does for SELECT).
        dbapi_connection.isolation_level = None
        if not memory:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
            finally:
                cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def create_engine(db_url: str | URL, basedir: str = ".", **engine_kwargs: Any) -> Engine:
    """An engine for ``db_url``, set up for the back-end (see the module doc)."""
    url, kwargs = resolve_url(db_url, basedir)
    synchronous = kwargs.pop("sqlite_synchronous", SQLITE_SYNCHRONOUS)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.update(engine_kwargs.pop("connect_args", {}))
    kwargs.update(engine_kwargs)
    if connect_args:
        kwargs["connect_args"] = connect_args

    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _set_up_sqlite(engine, memory=is_sqlite_memory(url), synchronous=synchronous)
        threads = 1  # one writer; SQLite serialises writes anyway
    else:
        # as many threads as the pool may open connections (15 by default, as in 4.3)
        threads = int(kwargs.get("pool_size", DEFAULT_POOL_SIZE))
        overflow = int(kwargs.get("max_overflow", DEFAULT_MAX_OVERFLOW))
        threads = max(1, threads + max(0, overflow))
    engine.optimal_thread_pool_size = threads  # type: ignore[attr-defined]
    return engine


def thread_pool_size(engine: Engine) -> int:
    """How many threads should share ``engine`` (1 for SQLite)."""
    size = getattr(engine, "optimal_thread_pool_size", None)
    if size is None:
        size = 1 if engine.dialect.name == "sqlite" else DEFAULT_POOL_SIZE + DEFAULT_MAX_OVERFLOW
    return size
