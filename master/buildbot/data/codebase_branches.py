"""Branches of a codebase and the commit each points at (4.3+, experimental)."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def branch_dict(b: Any) -> dict[str, Any]:
    return {
        "branchid": b.id,
        "codebaseid": b.codebaseid,
        "name": b.name,
        "commitid": b.commitid,
        "last_timestamp": b.last_timestamp,
    }


class BranchEndpoint(base.Endpoint):
    pathPatterns = "/branches/n:branchid"

    async def get(self, resultSpec, kwargs):
        b = await self.master.db.codebase_branches.get_branch(kwargs["branchid"])
        return branch_dict(b) if b is not None else None


class BranchesEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/codebases/n:codebaseid/branches"

    async def get(self, resultSpec, kwargs):
        branches = await self.master.db.codebase_branches.get_branches(kwargs["codebaseid"])
        return [branch_dict(b) for b in branches]


class Branch(base.ResourceType):
    name = "branch"
    plural = "branches"
    endpoints = [BranchEndpoint, BranchesEndpoint]
    keyField = "branchid"
    fields = {
        "branchid": "int",
        "codebaseid": "int",
        "name": "str",
        "commitid": "int",
        "last_timestamp": "int",
    }
    eventPathPatterns = "/branches/:branchid"

    @base.updateMethod
    async def update_branch(
        self,
        codebaseid: int,
        name: str,
        commitid: int | None,
        last_timestamp: int | None = None,
    ) -> int:
        """Point a branch (created if new) at a commit; its id. `last_timestamp`
        defaults to now."""
        if last_timestamp is None:
            last_timestamp = int(self.master.reactor.seconds())
        branchid = await self.master.db.codebase_branches.update_branch(
            codebaseid=codebaseid, name=name, commitid=commitid, last_timestamp=last_timestamp
        )
        self.produceEvent(await self.master.data.get(("branches", branchid)), "update")
        return branchid
