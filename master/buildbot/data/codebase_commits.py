"""Commits of a codebase and how two of them relate (4.3+, experimental)."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def commit_dict(c: Any) -> dict[str, Any]:
    return {
        "commitid": c.id,
        "codebaseid": c.codebaseid,
        "author": c.author,
        "committer": c.committer,
        "comments": c.comments,
        "when_timestamp": c.when_timestamp,
        "revision": c.revision,
        "parent_commitid": c.parent_commitid,
    }


class CommitEndpoint(base.Endpoint):
    pathPatterns = """
        /commits/n:commitid
        /codebases/n:codebaseid/commits_by_revision/s:revision
    """

    async def get(self, resultSpec, kwargs):
        commits = self.master.db.codebase_commits
        if "commitid" in kwargs:
            c = await commits.get_commit(kwargs["commitid"])
        else:
            c = await commits.get_commit_by_revision(kwargs["codebaseid"], kwargs["revision"])
        return commit_dict(c) if c is not None else None


class CommitsEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/codebases/n:codebaseid/commits"

    async def get(self, resultSpec, kwargs):
        # paging goes to SQL when nothing else has to be applied first
        limit = offset = None
        spec = resultSpec
        if spec is not None and not spec.filters and spec.order in (None, ["commitid"]):
            limit, offset = spec.limit, spec.offset
            if limit is not None or offset:
                spec.removePagination()
                spec.removeOrder()
        commits = await self.master.db.codebase_commits.get_commits(
            kwargs["codebaseid"], limit=limit, offset=offset
        )
        return [commit_dict(c) for c in commits]


class Commit(base.ResourceType):
    name = "commit"
    plural = "commits"
    endpoints = [CommitEndpoint, CommitsEndpoint]
    keyField = "commitid"
    fields = {
        "commitid": "int",
        "codebaseid": "int",
        "author": "str",
        "committer": "str?",
        "comments": "str",
        "when_timestamp": "int",
        "revision": "str",
        "parent_commitid": "int?",
    }
    eventPathPatterns = """
        /commits/:commitid
        /codebases/:codebaseid/commits/:commitid
    """

    @base.updateMethod
    async def add_commit(
        self,
        codebaseid: int,
        author: str,
        committer: str | None,
        comments: str,
        when_timestamp: int,
        revision: str,
        parent_commitid: int | None = None,
    ) -> int:
        """Record a commit of a codebase; its id (a known revision is an IntegrityError)."""
        commitid = await self.master.db.codebase_commits.add_commit(
            codebaseid=codebaseid,
            author=author,
            committer=committer,
            comments=comments,
            when_timestamp=when_timestamp,
            revision=revision,
            parent_commitid=parent_commitid,
        )
        self.produceEvent(await self.master.data.get(("commits", commitid)), "new")
        return commitid


class CommitGraphEndpoint(base.Endpoint):
    pathPatterns = (
        "/codebases/n:codebaseid/commit_range/n:commitid1/n:commitid2/commits_common_parent"
    )

    async def get(self, resultSpec, kwargs):
        graph = await self.master.db.codebase_commits.get_first_common_commit_with_ranges(
            kwargs["codebaseid"], kwargs["commitid1"], kwargs["commitid2"]
        )
        if graph is None:
            return None
        return {"common": graph.common, "to1": graph.to1, "to2": graph.to2}


class CommitGraph(base.ResourceType):
    """The nearest common ancestor of two commits, and the commits from it to each,
    oldest first (see buildbot.db.codebase_commits.CommitGraphModel)."""

    name = "commit_graph"
    plural = "commit_graphs"
    endpoints = [CommitGraphEndpoint]
    fields = {"common": "int", "to1": "[int]", "to2": "[int]"}
