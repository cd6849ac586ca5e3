"""Projects: groups of builders."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def project_dict(p: Any, active: bool | None = None) -> dict[str, Any]:
    return {
        "projectid": p.id,
        "name": p.name,
        "slug": p.slug,
        "active": active,
        "description": p.description,
        "description_format": p.description_format,
        "description_html": p.description_html,
    }


class ProjectEndpoint(base.Endpoint):
    pathPatterns = """
        /projects/n:projectid
        /projects/i:projectname
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        projectid = kwargs.get("projectid")
        if projectid is None:
            projectid = await db.projects.find_project_id(kwargs["projectname"], auto_create=False)
            if projectid is None:
                return None
        p = await db.projects.get_project(projectid)
        return project_dict(p) if p is not None else None


class ProjectsEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "projects"
    pathPatterns = "/projects"

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        active = resultSpec.popBooleanFilter("active") if resultSpec else None
        if active is None:
            return [project_dict(p) for p in await db.projects.get_projects()]
        active_ids = {p.id for p in await db.projects.get_active_projects()}
        return [
            project_dict(p, active)
            for p in await db.projects.get_projects()
            if (p.id in active_ids) == active
        ]


class Project(base.ResourceType):
    name = "project"
    plural = "projects"
    endpoints = [ProjectEndpoint, ProjectsEndpoint]
    keyField = "projectid"
    fields = {
        "projectid": "int",
        "name": "id(70)",
        "slug": "id(70)",
        "active": "bool?",
        "description": "str?",
        "description_format": "str?",
        "description_html": "str?",
    }
    eventPathPatterns = "/projects/:projectid"

    @base.updateMethod
    def find_project_id(self, name: str, auto_create: bool = True):
        return self.master.db.projects.find_project_id(name, auto_create=auto_create)

    @base.updateMethod
    async def update_project_info(
        self,
        projectid: int,
        slug: str,
        description: str | None,
        description_format: str | None,
        description_html: str | None,
    ) -> None:
        await self.master.db.projects.update_project_info(
            projectid, slug, description, description_format, description_html
        )
        self.produceEvent(await self.master.data.get(("projects", projectid)), "update")
