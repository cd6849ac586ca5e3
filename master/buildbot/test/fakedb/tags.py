from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base


def find_tag_id(tables, name: str) -> int:
    name_hash = base.hash_columns(name)
    row = tables.select_one("tags", lambda r: r["name_hash"] == name_hash)
    if row is not None:
        return row["id"]
    return tables.insert("tags", {"name": name, "name_hash": name_hash})


class FakeTagsComponent:
    def __init__(self, db) -> None:
        self.db = db
        self.t = db.tables

    def findTagId(self, name):
        return defer.succeed(find_tag_id(self.t, name))
