"""The `projects` table: groups of builders shown together."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class ProjectModel:
    id: int
    name: str
    slug: str
    description: str | None
    description_format: str | None
    description_html: str | None


def model_from_row(row) -> ProjectModel:
    return ProjectModel(
        id=row.id,
        name=row.name,
        slug=row.slug,
        description=row.description,
        description_format=row.description_format,
        description_html=row.description_html,
    )


class ProjectsConnectorComponent(base.DBConnectorComponent):
    def find_project_id(self, name: str, auto_create: bool = True) -> defer.Deferred[int | None]:
        """The id of the project called `name`; created (slug = name, shortened to
        fit) unless `auto_create` is false, in which case a missing one gives None."""
        tbl = self.db.model.projects
        name_hash = self.hashColumns(name)
        if auto_create:
            return self.findSomethingId(
                tbl,
                tbl.c.name_hash == name_hash,
                {
                    "name": name,
                    "name_hash": name_hash,
                    "slug": self.ensureLength(tbl.c.slug, name),
                },
            )
        q = sa.select(tbl.c.id).where(tbl.c.name_hash == name_hash)

        def thdFindProjectId(conn: sa.Connection) -> int | None:
            row = conn.execute(q).first()
            return row.id if row is not None else None

        return self.db.pool.do(thdFindProjectId)

    def get_project(self, projectid: int) -> defer.Deferred[ProjectModel | None]:
        """The project with that id, or None."""
        tbl = self.db.model.projects
        q = tbl.select().where(tbl.c.id == projectid)

        def thdGetProject(conn: sa.Connection) -> ProjectModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetProject)

    def _get_list(self, q) -> defer.Deferred[list[ProjectModel]]:
        def thdGetProjects(conn: sa.Connection) -> list[ProjectModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetProjects)

    def get_projects(self) -> defer.Deferred[list[ProjectModel]]:
        """Every project, ordered by name (then id)."""
        tbl = self.db.model.projects
        return self._get_list(tbl.select().order_by(tbl.c.name, tbl.c.id))

    def get_active_projects(self) -> defer.Deferred[list[ProjectModel]]:
        """Projects with at least one builder that some master runs, ordered by name."""
        model = self.db.model
        tbl, bldr, bm = model.projects, model.builders, model.builder_masters
        active = (
            sa.select(bldr.c.projectid)
            .join(bm, bm.c.builderid == bldr.c.id)
            .where(bldr.c.projectid.is_not(None))
        )
        q = tbl.select().where(tbl.c.id.in_(active)).order_by(tbl.c.name, tbl.c.id)
        return self._get_list(q)

    def update_project_info(
        self,
        projectid: int,
        slug: str,
        description: str | None,
        description_format: str | None,
        description_html: str | None,
    ) -> defer.Deferred[None]:
        """Set a project's slug and description (an unknown project is left alone).

        The slug is an identifier used in URLs: one too long for its column is
        refused rather than silently shortened.
        """
        tbl = self.db.model.projects
        try:
            self.checkLength(tbl.c.slug, slug)
        except RuntimeError as e:
            return defer.fail(e)
        q = (
            tbl.update()
            .where(tbl.c.id == projectid)
            .values(
                slug=slug,
                description=description,
                description_format=description_format,
                description_html=description_html,
            )
        )

        def thdUpdateProjectInfo(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdUpdateProjectInfo)
