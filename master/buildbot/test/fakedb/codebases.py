from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.codebases import CodebaseModel
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> CodebaseModel:
    return CodebaseModel(
        id=row["id"], projectid=row["projectid"], name=row["name"], slug=row["slug"]
    )


class FakeCodebasesComponent(FakeDBComponent):
    def find_codebase_id(self, projectid, name, auto_create=True):
        name_hash = base.hash_columns(name)
        row = self.t.select_one(
            "codebases", lambda r: r["projectid"] == projectid and r["name_hash"] == name_hash
        )
        if row is not None:
            return defer.succeed(row["id"])
        if not auto_create:
            return defer.succeed(None)
        slug = self.ensureLength(self.db.model.codebases.c.slug, name)
        return defer.succeed(
            self.t.insert(
                "codebases",
                {"projectid": projectid, "name": name, "name_hash": name_hash, "slug": slug},
            )
        )

    def get_codebase(self, codebaseid):
        row = self.t.select_one("codebases", lambda r: r["id"] == codebaseid)
        return defer.succeed(_model(row) if row is not None else None)

    def get_codebases(self, projectid=None):
        rows = self.t.select(
            "codebases", lambda r: projectid is None or r["projectid"] == projectid
        )
        return defer.succeed([_model(r) for r in sorted(rows, key=lambda r: r["id"])])

    def update_codebase_info(self, codebaseid, projectid, slug):
        try:
            self.checkLength(self.db.model.codebases.c.slug, slug)
            self.t.update(
                "codebases",
                lambda r: r["id"] == codebaseid,
                {"projectid": projectid, "slug": slug},
            )
        except Exception as e:
            return defer.fail(e)
        return defer.succeed(None)
