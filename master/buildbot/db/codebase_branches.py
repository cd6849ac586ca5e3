"""The `codebase_branches` table: the branches of a codebase and the commit each is at."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class CodebaseBranchModel:
    id: int
    codebaseid: int
    name: str
    commitid: int | None
    last_timestamp: int


def model_from_row(row) -> CodebaseBranchModel:
    return CodebaseBranchModel(
        id=row.id,
        codebaseid=row.codebaseid,
        name=row.name,
        commitid=row.commitid,
        last_timestamp=row.last_timestamp,
    )


class CodebaseBranchesConnectorComponent(base.DBConnectorComponent):
    def update_branch(
        self, *, codebaseid: int, name: str, commitid: int | None, last_timestamp: int
    ) -> defer.Deferred[int]:
        """Point the branch `name` of a codebase at `commitid`, creating the branch if
        needed; its id. A name too long for its column is stored shortened; the
        branch is still found by its full name."""
        tbl = self.db.model.codebase_branches
        name_hash = self.hashColumns(name)
        select = sa.select(tbl.c.id).where(
            (tbl.c.codebaseid == codebaseid) & (tbl.c.name_hash == name_hash)
        )
        values = {"commitid": commitid, "last_timestamp": last_timestamp}
        update = tbl.update().where(tbl.c.id == sa.bindparam("branchid")).values(**values)
        insert = tbl.insert().values(
            codebaseid=codebaseid,
            name=self.ensureLength(tbl.c.name, name),
            name_hash=name_hash,
            **values,
        )

        def thdUpdateBranch(conn: sa.Connection) -> int:
            row = conn.execute(select).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        return conn.execute(insert).inserted_primary_key[0]
                except sa.exc.IntegrityError:
                    # another master created it meanwhile: update theirs
                    row = base.thd_reread(conn, select)
                    if row is None:
                        raise
            conn.execute(update, {"branchid": row.id})
            return row.id

        return self.db.pool.do(thdUpdateBranch)

    def _get_one(self, q: sa.Select) -> defer.Deferred[CodebaseBranchModel | None]:
        def thdGetBranch(conn: sa.Connection) -> CodebaseBranchModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetBranch)

    def _get_list(self, q: sa.Select) -> defer.Deferred[list[CodebaseBranchModel]]:
        def thdGetBranches(conn: sa.Connection) -> list[CodebaseBranchModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetBranches)

    def get_branch(self, branchid: int) -> defer.Deferred[CodebaseBranchModel | None]:
        """The branch with that id, or None."""
        tbl = self.db.model.codebase_branches
        return self._get_one(tbl.select().where(tbl.c.id == branchid))

    def get_branch_by_name(
        self, codebaseid: int, name: str
    ) -> defer.Deferred[CodebaseBranchModel | None]:
        """The branch of the codebase called `name` (its full name), or None."""
        tbl = self.db.model.codebase_branches
        q = tbl.select().where(
            (tbl.c.codebaseid == codebaseid) & (tbl.c.name_hash == self.hashColumns(name))
        )
        return self._get_one(q)

    def get_branches(self, codebaseid: int) -> defer.Deferred[list[CodebaseBranchModel]]:
        """The branches of a codebase, ordered by id."""
        tbl = self.db.model.codebase_branches
        return self._get_list(tbl.select().where(tbl.c.codebaseid == codebaseid).order_by(tbl.c.id))
