"""The `codebases` table: the repositories of a project (4.3+, experimental)."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class CodebaseModel:
    id: int
    projectid: int
    name: str
    slug: str


def model_from_row(row) -> CodebaseModel:
    return CodebaseModel(id=row.id, projectid=row.projectid, name=row.name, slug=row.slug)


class CodebasesConnectorComponent(base.DBConnectorComponent):
    def find_codebase_id(
        self, projectid: int, name: str, auto_create: bool = True
    ) -> defer.Deferred[int | None]:
        """The id of the codebase `name` of a project; created (slug = name, shortened
        to fit) unless `auto_create` is false, in which case a missing one gives None."""
        tbl = self.db.model.codebases
        name_hash = self.hashColumns(name)
        where = (tbl.c.projectid == projectid) & (tbl.c.name_hash == name_hash)
        if auto_create:
            return self.findSomethingId(
                tbl,
                where,
                {
                    "projectid": projectid,
                    "name": name,
                    "name_hash": name_hash,
                    "slug": self.ensureLength(tbl.c.slug, name),
                },
            )
        q = sa.select(tbl.c.id).where(where)

        def thdFindCodebaseId(conn: sa.Connection) -> int | None:
            row = conn.execute(q).first()
            return row.id if row is not None else None

        return self.db.pool.do(thdFindCodebaseId)

    def _get_one(self, q: sa.Select) -> defer.Deferred[CodebaseModel | None]:
        def thdGetCodebase(conn: sa.Connection) -> CodebaseModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetCodebase)

    def _get_list(self, q: sa.Select) -> defer.Deferred[list[CodebaseModel]]:
        def thdGetCodebases(conn: sa.Connection) -> list[CodebaseModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetCodebases)

    def get_codebase(self, codebaseid: int) -> defer.Deferred[CodebaseModel | None]:
        """The codebase with that id, or None."""
        tbl = self.db.model.codebases
        return self._get_one(tbl.select().where(tbl.c.id == codebaseid))

    def get_codebases(self, projectid: int | None = None) -> defer.Deferred[list[CodebaseModel]]:
        """Every codebase (of one project if `projectid` is given), ordered by id."""
        tbl = self.db.model.codebases
        q = tbl.select().order_by(tbl.c.id)
        if projectid is not None:
            q = q.where(tbl.c.projectid == projectid)
        return self._get_list(q)

    def update_codebase_info(
        self, codebaseid: int, projectid: int, slug: str
    ) -> defer.Deferred[None]:
        """Move a codebase to a project and set its slug (an unknown one is left alone).

        The slug is an identifier used in URLs: one too long for its column is
        refused rather than silently shortened.
        """
        tbl = self.db.model.codebases
        try:
            self.checkLength(tbl.c.slug, slug)
        except RuntimeError as e:
            return defer.fail(e)
        q = tbl.update().where(tbl.c.id == codebaseid).values(projectid=projectid, slug=slug)

        def thdUpdateCodebaseInfo(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdUpdateCodebaseInfo)
