from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.codebase_branches import CodebaseBranchModel
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> CodebaseBranchModel:
    return CodebaseBranchModel(
        id=row["id"],
        codebaseid=row["codebaseid"],
        name=row["name"],
        commitid=row["commitid"],
        last_timestamp=row["last_timestamp"],
    )


class FakeCodebaseBranchesComponent(FakeDBComponent):
    def update_branch(self, *, codebaseid, name, commitid, last_timestamp):
        name_hash = base.hash_columns(name)
        values = {"commitid": commitid, "last_timestamp": last_timestamp}
        row = self.t.select_one(
            "codebase_branches",
            lambda r: r["codebaseid"] == codebaseid and r["name_hash"] == name_hash,
        )
        try:
            if row is not None:
                self.t.update("codebase_branches", lambda r: r["id"] == row["id"], values)
                return defer.succeed(row["id"])
            tbl = self.db.model.codebase_branches
            branchid = self.t.insert(
                "codebase_branches",
                {
                    "codebaseid": codebaseid,
                    "name": self.ensureLength(tbl.c.name, name),
                    "name_hash": name_hash,
                    **values,
                },
            )
        except Exception as e:
            return defer.fail(e)
        return defer.succeed(branchid)

    def get_branch(self, branchid):
        row = self.t.select_one("codebase_branches", lambda r: r["id"] == branchid)
        return defer.succeed(_model(row) if row is not None else None)

    def get_branch_by_name(self, codebaseid, name):
        name_hash = base.hash_columns(name)
        row = self.t.select_one(
            "codebase_branches",
            lambda r: r["codebaseid"] == codebaseid and r["name_hash"] == name_hash,
        )
        return defer.succeed(_model(row) if row is not None else None)

    def get_branches(self, codebaseid):
        rows = self.t.select("codebase_branches", lambda r: r["codebaseid"] == codebaseid)
        return defer.succeed([_model(r) for r in sorted(rows, key=lambda r: r["id"])])
