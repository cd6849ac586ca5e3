from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.builders import BuilderModel
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.test.fakedb.tags import find_tag_id


class FakeBuildersComponent(FakeDBComponent):
    def findBuilderId(self, name, autoCreate=True):
        name_hash = base.hash_columns(name)
        row = self.t.select_one("builders", lambda r: r["name_hash"] == name_hash)
        if row is not None:
            return defer.succeed(row["id"])
        if not autoCreate:
            return defer.succeed(None)
        return defer.succeed(self.t.insert("builders", {"name": name, "name_hash": name_hash}))

    def addBuilderMaster(self, builderid=None, masterid=None):
        def same(r):
            return r["builderid"] == builderid and r["masterid"] == masterid

        if self.t.select_one("builder_masters", same) is None:
            self.t.insert("builder_masters", {"builderid": builderid, "masterid": masterid})
        return defer.succeed(None)

    def removeBuilderMaster(self, builderid=None, masterid=None):
        def same(r):
            return r["builderid"] == builderid and r["masterid"] == masterid

        bm_ids = {r["id"] for r in self.t.select("builder_masters", same)}
        self.t.delete("configured_workers", lambda r: r["buildermasterid"] in bm_ids)
        self.t.delete("builder_masters", same)
        return defer.succeed(None)

    def _model(self, row) -> BuilderModel:
        masterids = sorted(
            r["masterid"]
            for r in self.t.select("builder_masters", lambda r: r["builderid"] == row["id"])
        )
        tagids = {
            r["tagid"]
            for r in self.t.select("builders_tags", lambda r: r["builderid"] == row["id"])
        }
        tags = sorted(r["name"] for r in self.t.select("tags", lambda r: r["id"] in tagids))
        return BuilderModel(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            description_format=row["description_format"],
            description_html=row["description_html"],
            projectid=row["projectid"],
            tags=tags,
            masterids=masterids,
        )

    def getBuilder(self, builderid):
        row = self.t.select_one("builders", lambda r: r["id"] == builderid)
        return defer.succeed(self._model(row) if row is not None else None)

    def getBuilders(self, masterid=None, projectid=None, workerid=None):
        builders = sorted(self.t.select("builders"), key=lambda r: r["id"])
        if masterid is not None:
            ids = {
                r["builderid"]
                for r in self.t.select("builder_masters", lambda r: r["masterid"] == masterid)
            }
            builders = [b for b in builders if b["id"] in ids]
        if projectid is not None:
            builders = [b for b in builders if b["projectid"] == projectid]
        if workerid is not None:
            bm_ids = {
                r["buildermasterid"]
                for r in self.t.select("configured_workers", lambda r: r["workerid"] == workerid)
            }
            ids = {
                r["builderid"]
                for r in self.t.select("builder_masters", lambda r: r["id"] in bm_ids)
            }
            builders = [b for b in builders if b["id"] in ids]
        return defer.succeed([self._model(b) for b in builders])

    def updateBuilderInfo(
        self, builderid, description, description_format, description_html, projectid, tags
    ):
        if self.t.select_one("builders", lambda r: r["id"] == builderid) is None:
            return defer.succeed(None)
        self.t.update(
            "builders",
            lambda r: r["id"] == builderid,
            {
                "description": description,
                "description_format": description_format,
                "description_html": description_html,
                "projectid": projectid,
            },
        )
        self.t.delete("builders_tags", lambda r: r["builderid"] == builderid)
        for name in dict.fromkeys(tags or []):
            tagid = find_tag_id(self.t, name)
            self.t.insert("builders_tags", {"builderid": builderid, "tagid": tagid})
        return defer.succeed(None)
