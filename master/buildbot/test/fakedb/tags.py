from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.test.fakedb.base import FakeDBComponent


def find_tag_id(tables, name: str) -> int:
    name_hash = base.hash_columns(name)
    row = tables.select_one("tags", lambda r: r["name_hash"] == name_hash)
    if row is not None:
        return row["id"]
    return tables.insert("tags", {"name": name, "name_hash": name_hash})


class FakeTagsComponent(FakeDBComponent):
    def findTagId(self, name):
        return defer.succeed(find_tag_id(self.t, name))
