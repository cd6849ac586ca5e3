"""Schema facts read back from a live database, in a form JSON can hold.

Used to compare a database our model creates with the snapshot of one made by
Buildbot 4.3 (``buildbot43_sqlite_schema.json`` beside this file), so what is
compared is what any program reflecting the database would see.
"""

from __future__ import annotations

import json
import os
from typing import Any

import sqlalchemy as sa

SNAPSHOT_PATH = os.path.join(os.path.dirname(__file__), "buildbot43_sqlite_schema.json")

# tables that belong to the tools, not to the model
IGNORED_TABLES = frozenset({"alembic_version"})


def _default(value: Any) -> str | None:
    return None if value is None else str(value)


def reflect_schema(conn: sa.Connection) -> dict[str, Any]:
    """Tables, columns, indexes, unique and foreign keys of the database."""
    insp = sa.inspect(conn)
    tables: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        if name in IGNORED_TABLES or name.startswith("sqlite_"):
            continue
        pk = insp.get_pk_constraint(name)
        tables[name] = {
            "columns": [
                {
                    "name": c["name"],
                    "type": str(c["type"]),
                    "nullable": bool(c["nullable"]),
                    "default": _default(c.get("default")),
                }
                for c in insp.get_columns(name)
            ],
            "primary_key": list(pk.get("constrained_columns") or []),
            "indexes": {
                ix["name"]: {"columns": list(ix["column_names"]), "unique": bool(ix["unique"])}
                for ix in insp.get_indexes(name)
            },
            "unique_constraints": sorted(
                [uc["name"], list(uc["column_names"])] for uc in insp.get_unique_constraints(name)
            ),
            "foreign_keys": sorted(
                (
                    {
                        "name": fk.get("name"),
                        "columns": list(fk["constrained_columns"]),
                        "referred_table": fk["referred_table"],
                        "referred_columns": list(fk["referred_columns"]),
                        "ondelete": (fk.get("options") or {}).get("ondelete"),
                    }
                    for fk in insp.get_foreign_keys(name)
                ),
                key=lambda fk: (fk["columns"], fk["referred_table"]),
            ),
        }
    return tables


def load_snapshot() -> dict[str, Any]:
    with open(SNAPSHOT_PATH, encoding="utf-8") as f:
        return json.load(f)["tables"]
