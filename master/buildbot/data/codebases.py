"""Codebases: the repositories of a project (4.3+, experimental)."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def codebase_dict(cb: Any) -> dict[str, Any]:
    return {"codebaseid": cb.id, "projectid": cb.projectid, "name": cb.name, "slug": cb.slug}


class CodebaseEndpoint(base.Endpoint):
    pathPatterns = """
        /codebases/n:codebaseid
        /projects/n:projectid/codebases/i:codebasename
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        codebaseid = kwargs.get("codebaseid")
        if codebaseid is None:
            codebaseid = await db.codebases.find_codebase_id(
                kwargs["projectid"], kwargs["codebasename"], auto_create=False
            )
            if codebaseid is None:
                return None
        cb = await db.codebases.get_codebase(codebaseid)
        return codebase_dict(cb) if cb is not None else None


class CodebasesEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "codebases"
    pathPatterns = "/codebases"

    async def get(self, resultSpec, kwargs):
        projectid = resultSpec.popIntegerFilter("projectid") if resultSpec else None
        return [
            codebase_dict(cb)
            for cb in await self.master.db.codebases.get_codebases(projectid=projectid)
        ]


class Codebase(base.ResourceType):
    name = "codebase"
    plural = "codebases"
    endpoints = [CodebaseEndpoint, CodebasesEndpoint]
    keyField = "codebaseid"
    fields = {"codebaseid": "int", "projectid": "int", "name": "id(70)", "slug": "id(70)"}
    eventPathPatterns = "/codebases/:codebaseid"

    @base.updateMethod
    def find_codebase_id(self, projectid: int, name: str, auto_create: bool = True):
        return self.master.db.codebases.find_codebase_id(projectid, name, auto_create=auto_create)

    @base.updateMethod
    async def update_codebase_info(self, codebaseid: int, projectid: int, slug: str) -> None:
        await self.master.db.codebases.update_codebase_info(codebaseid, projectid, slug)
        self.produceEvent(await self.master.data.get(("codebases", codebaseid)), "update")
