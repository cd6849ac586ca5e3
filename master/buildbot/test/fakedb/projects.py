from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.projects import ProjectModel
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> ProjectModel:
    return ProjectModel(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        description_format=row["description_format"],
        description_html=row["description_html"],
    )


def _ordered(rows) -> list[ProjectModel]:
    return [_model(r) for r in sorted(rows, key=lambda r: (r["name"], r["id"]))]


class FakeProjectsComponent(FakeDBComponent):
    def find_project_id(self, name, auto_create=True):
        name_hash = base.hash_columns(name)
        row = self.t.select_one("projects", lambda r: r["name_hash"] == name_hash)
        if row is not None:
            return defer.succeed(row["id"])
        if not auto_create:
            return defer.succeed(None)
        slug = self.ensureLength(self.db.model.projects.c.slug, name)
        return defer.succeed(
            self.t.insert("projects", {"name": name, "name_hash": name_hash, "slug": slug})
        )

    def get_project(self, projectid):
        row = self.t.select_one("projects", lambda r: r["id"] == projectid)
        return defer.succeed(_model(row) if row is not None else None)

    def get_projects(self):
        return defer.succeed(_ordered(self.t.select("projects")))

    def get_active_projects(self):
        builderids = {r["builderid"] for r in self.t.select("builder_masters")}
        projectids = {
            r["projectid"] for r in self.t.select("builders", lambda r: r["id"] in builderids)
        }
        return defer.succeed(_ordered(self.t.select("projects", lambda r: r["id"] in projectids)))

    def update_project_info(
        self, projectid, slug, description, description_format, description_html
    ):
        try:
            self.checkLength(self.db.model.projects.c.slug, slug)
        except RuntimeError as e:
            return defer.fail(e)
        self.t.update(
            "projects",
            lambda r: r["id"] == projectid,
            {
                "slug": slug,
                "description": description,
                "description_format": description_format,
                "description_html": description_html,
            },
        )
        return defer.succeed(None)
