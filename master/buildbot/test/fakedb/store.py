"""In-memory tables for the fake DB, checked against the real model.

Rows are plain dicts. Inserts fill column defaults, refuse NULL in NOT NULL
columns and duplicates of primary keys and unique indexes, raising the same
`sqlalchemy.exc.IntegrityError` a real database would, so that fake components
can handle conflicts the way the real ones do. Foreign keys are not checked
(SQLite, the default back-end, does not enforce them either).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from buildbot.db import model

Predicate = Callable[[dict[str, Any]], bool]


def _always(row: dict[str, Any]) -> bool:
    return True


class _FakeDBAPIError(Exception):
    pass


def integrity_error(message: str) -> sa.exc.IntegrityError:
    return sa.exc.IntegrityError(message, None, _FakeDBAPIError(message))


def _unique_keys(table: sa.Table) -> list[tuple[str, ...]]:
    keys = [tuple(c.name for c in table.primary_key.columns)] if table.primary_key else []
    for index in table.indexes:
        if index.unique:
            keys.append(tuple(c.name for c in index.columns))
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            keys.append(tuple(c.name for c in constraint.columns))
    return [k for k in keys if k]


def _default(column: sa.Column) -> Any:
    if column.default is not None and getattr(column.default, "is_scalar", False):
        return column.default.arg
    if column.server_default is not None:
        text = str(getattr(column.server_default, "arg", ""))
        text = text.strip("'")
        return int(text) if text.lstrip("-").isdigit() else text
    return None


class FakeTables:
    def __init__(self) -> None:
        self.tables = model.Model.metadata.tables
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.tables}
        self._last_id: dict[str, int] = {}

    def _table(self, name: str) -> sa.Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r} in the model") from None

    def _autoincrement_column(self, table: sa.Table) -> str | None:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and not pk[0].foreign_keys:
            return pk[0].name
        return None

    def insert(self, table_name: str, values: dict[str, Any]) -> Any:
        """Insert one row; return its primary key value (None if it has none)."""
        table = self._table(table_name)
        unknown = set(values) - set(table.c.keys())
        if unknown:
            raise ValueError(f"{table_name}: no column(s) {', '.join(sorted(unknown))}")
        row = {c.name: values[c.name] if c.name in values else _default(c) for c in table.c}
        auto = self._autoincrement_column(table)
        if auto is not None and row[auto] is None:
            row[auto] = max(self._last_id.get(table_name, 0), self._max(table_name, auto)) + 1
        for column in table.c:
            if row[column.name] is None and not column.nullable:
                raise integrity_error(f"NOT NULL constraint failed: {table_name}.{column.name}")
        for key in _unique_keys(table):
            if any(row[k] is None for k in key):
                continue
            wanted = tuple(row[k] for k in key)
            if any(tuple(r[k] for k in key) == wanted for r in self.rows[table_name]):
                raise integrity_error(
                    f"UNIQUE constraint failed: {table_name}.({', '.join(key)}) = {wanted!r}"
                )
        self.rows[table_name].append(row)
        if auto is not None:
            self._last_id[table_name] = max(self._last_id.get(table_name, 0), row[auto])
            return row[auto]
        pk = [c.name for c in table.primary_key.columns]
        return row[pk[0]] if len(pk) == 1 else None

    def _max(self, table_name: str, column: str) -> int:
        return max((r[column] for r in self.rows[table_name]), default=0)

    def select(self, table_name: str, where: Predicate = _always) -> list[dict[str, Any]]:
        """Copies of the matching rows, in insertion order."""
        return [copy.deepcopy(r) for r in self.rows[table_name] if where(r)]

    def select_one(self, table_name: str, where: Predicate = _always) -> dict[str, Any] | None:
        rows = self.select(table_name, where)
        return rows[0] if rows else None

    def update(self, table_name: str, where: Predicate, values: dict[str, Any]) -> int:
        """Update matching rows (checked like an insert); return how many matched."""
        table = self._table(table_name)
        matching = [r for r in self.rows[table_name] if where(r)]
        for r in matching:
            candidate = {**r, **values}
            for key in _unique_keys(table):
                if any(k in values for k in key) and any(
                    other is not r
                    and tuple(other[k] for k in key) == tuple(candidate[k] for k in key)
                    for other in self.rows[table_name]
                ):
                    raise integrity_error(
                        f"UNIQUE constraint failed: {table_name}.({', '.join(key)})"
                    )
        for r in matching:
            r.update(values)
        return len(matching)

    def delete(self, table_name: str, where: Predicate = _always) -> int:
        before = len(self.rows[table_name])
        self.rows[table_name] = [r for r in self.rows[table_name] if not where(r)]
        return before - len(self.rows[table_name])
