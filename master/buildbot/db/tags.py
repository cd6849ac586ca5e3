"""The `tags` table: tag names shared by builders."""

from __future__ import annotations

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


def thd_find_tag_id(conn: sa.Connection, tbl: sa.Table, name: str) -> int:
    """Find-or-create a tag inside an already running transaction."""
    name_hash = base.hash_columns(name)
    select = sa.select(tbl.c.id).where(tbl.c.name_hash == name_hash)
    row = conn.execute(select).first()
    if row is not None:
        return row.id
    try:
        with conn.begin_nested():
            return conn.execute(
                tbl.insert().values(name=name, name_hash=name_hash)
            ).inserted_primary_key[0]
    except sa.exc.IntegrityError:
        # another master created it meanwhile
        row = conn.execute(select).first()
        if row is None:
            raise
        return row.id


class TagsConnectorComponent(base.DBConnectorComponent):
    def findTagId(self, name: str) -> defer.Deferred[int]:
        """The id of the tag called `name`, creating it if new."""
        tbl = self.db.model.tags
        name_hash = self.hashColumns(name)
        return self.findSomethingId(
            tbl, tbl.c.name_hash == name_hash, {"name": name, "name_hash": name_hash}
        )
