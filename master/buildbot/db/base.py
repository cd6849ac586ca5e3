"""What every DB component shares: its connector, and the name and length rules.

A component method builds its query on the reactor thread, so that bad
arguments fail at once, then returns ``self.db.pool.do(thd)`` with a nested
``thd(conn)`` that touches only its arguments.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer


def retry_point(conn: sa.Connection) -> Any:
    """What an INSERT that may fail on a unique constraint runs in, so that the
    transaction can go on and try again: a savepoint, except on SQLite, where a
    failed statement is undone alone and the transaction stays usable (and a
    savepoint costs two more statements per insert on the hottest writes)."""
    if conn.dialect.name == "sqlite":
        return contextlib.nullcontext()
    return conn.begin_nested()


# How a None is encoded where several values are hashed together (sourcestamps).
_NONE_MARKER = b"\xf5"


def hash_columns(*values: Any) -> str:
    """SHA-1 hex of the values joined by NUL bytes: how `*_hash` columns are made.

    One value gives the plain SHA-1 of its UTF-8 encoding (the `name_hash`
    columns); numbers are hashed as their decimal string, None as byte 0xF5.
    These must stay as they are: databases made by Buildbot 4.3 hold them.
    """

    def encode(v: Any) -> bytes:
        if v is None:
            return _NONE_MARKER
        if isinstance(v, bytes):
            return v
        return str(v).encode("utf-8")

    return hashlib.sha1(b"\0".join(encode(v) for v in values)).hexdigest()


def shorten(value: str, length: int) -> str:
    """Fit `value` into `length` characters: half of it kept, half a hash of the whole."""
    if len(value) <= length:
        return value
    half = length // 2
    return value[:half] + hashlib.sha1(value.encode("utf-8")).hexdigest()[:half]


def thd_reread(conn: sa.Connection, select: sa.Select) -> Any:
    """The first row of `select` as committed now, after losing an insert race.

    Under MySQL's REPEATABLE READ a plain select keeps returning the snapshot
    taken at the transaction's first read, which predates the row another
    connection just committed; a locking read sees the latest committed rows.
    (PostgreSQL reads them anyway; SQLite ignores the clause.)
    """
    return conn.execute(select.with_for_update(read=True)).first()


class DBConnectorComponent:
    """Base of the components the connector exposes (``master.db.builds``...)."""

    def __init__(self, connector: Any) -> None:
        self.db = connector
        self._statements: dict[str, Any] = {}

    def statement(self, key: str, make: Callable[[], Any]) -> Any:
        """The statement `make()` builds, built once per component: for the hot reads,
        whose variable parts are `sa.bindparam`s given at execution.  Building a
        SQLAlchemy statement costs more than running a simple one on SQLite."""
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self._statements[key] = make()
        return stmt

    @property
    def master(self) -> Any:
        return self.db.master

    def _now(self) -> int:
        """The master's clock, in whole epoch seconds (a task.Clock in tests)."""
        return int(self.master.reactor.seconds())

    def hashColumns(self, *args: Any) -> str:
        return hash_columns(*args)

    def ensureLength(self, col: sa.Column, value: str | None) -> str | None:
        """Shorten `value` to fit the column, as the schema's rule says."""
        length = getattr(col.type, "length", None)
        if value is None or length is None:
            return value
        return shorten(value, length)

    def checkLength(self, col: sa.Column, value: str | None) -> None:
        """Refuse a value too long for its column, naming both."""
        length = getattr(col.type, "length", None)
        if value is not None and length is not None and len(value) > length:
            raise RuntimeError(
                f"value for column {col.table.name}.{col.name} is longer than "
                f"{length} characters: {value[:40]!r}..."
            )

    def findSomethingId(
        self,
        tbl: sa.Table,
        whereclause: Any,
        insert_values: dict[str, Any],
        _race_hook: Callable[[sa.Connection], None] | None = None,
    ) -> defer.Deferred[int]:
        """The id of the row matching `whereclause`, inserting `insert_values` if none.

        Two masters may insert the same row at once; the loser of the race sees
        the unique constraint fail and reads the winner's row.
        """
        select = sa.select(tbl.c.id).where(whereclause)
        insert = tbl.insert().values(**insert_values)

        def thdFindSomethingId(conn: sa.Connection) -> int:
            row = conn.execute(select).first()
            if row is not None:
                return row.id
            if _race_hook is not None:
                _race_hook(conn)
            try:
                with retry_point(conn):
                    return conn.execute(insert).inserted_primary_key[0]
            except sa.exc.IntegrityError:
                row = thd_reread(conn, select)
                if row is None:
                    raise
                return row.id

        return self.db.pool.do(thdFindSomethingId)
