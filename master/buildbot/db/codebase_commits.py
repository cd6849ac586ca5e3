"""The `codebase_commits` table: the commits known in a codebase, each with one parent."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class CodebaseCommitModel:
    id: int
    codebaseid: int
    author: str
    committer: str | None
    comments: str
    when_timestamp: int
    revision: str
    parent_commitid: int | None


@dataclasses.dataclass
class CommitGraphModel:
    """How two commits of a codebase relate through their nearest common ancestor.

    `common` is that ancestor (a commit is its own ancestor). `to1` lists the
    commits on the way from `common` to the first commit: oldest first, `common`
    excluded, the first commit itself last (so empty when it is `common`); `to2`
    the same for the second commit.
    """

    common: int
    to1: list[int]
    to2: list[int]


def model_from_row(row) -> CodebaseCommitModel:
    return CodebaseCommitModel(
        id=row.id,
        codebaseid=row.codebaseid,
        author=row.author,
        committer=row.committer,
        comments=row.comments,
        when_timestamp=row.when_timestamp,
        revision=row.revision,
        parent_commitid=row.parent_commitid,
    )


class _Walk:
    """One side of the search for a common ancestor: the commits seen from a start."""

    def __init__(self, start: int) -> None:
        self.path = [start]
        self.seen = {start: 0}
        self.done = False

    def step(self, parent: int | None) -> int | None:
        """Go to `parent`; the new commit, or None when the history ends (or loops)."""
        if parent is None or parent in self.seen:
            self.done = True
            return None
        self.seen[parent] = len(self.path)
        self.path.append(parent)
        return parent

    def to(self, common: int) -> list[int]:
        """The commits from `common` (excluded) to the start, oldest first."""
        return list(reversed(self.path[: self.seen[common]]))


class CodebaseCommitsConnectorComponent(base.DBConnectorComponent):
    def add_commit(
        self,
        *,
        codebaseid: int,
        author: str,
        committer: str | None = None,
        comments: str,
        when_timestamp: int,
        revision: str,
        parent_commitid: int | None = None,
    ) -> defer.Deferred[int]:
        """Insert a commit; its id. A revision already known in the codebase is an
        IntegrityError. Authors and revisions too long for their columns are shortened
        (a revision the same way when looking it up)."""
        tbl = self.db.model.codebase_commits
        q = tbl.insert().values(
            codebaseid=codebaseid,
            author=self.ensureLength(tbl.c.author, author),
            committer=self.ensureLength(tbl.c.committer, committer),
            comments=comments,
            when_timestamp=when_timestamp,
            revision=self.ensureLength(tbl.c.revision, revision),
            parent_commitid=parent_commitid,
        )

        def thdAddCommit(conn: sa.Connection) -> int:
            return conn.execute(q).inserted_primary_key[0]

        return self.db.pool.do(thdAddCommit)

    def _get_one(self, q: sa.Select) -> defer.Deferred[CodebaseCommitModel | None]:
        def thdGetCommit(conn: sa.Connection) -> CodebaseCommitModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetCommit)

    def _get_list(self, q: sa.Select) -> defer.Deferred[list[CodebaseCommitModel]]:
        def thdGetCommits(conn: sa.Connection) -> list[CodebaseCommitModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetCommits)

    def get_commit(self, commitid: int) -> defer.Deferred[CodebaseCommitModel | None]:
        """The commit with that id, or None."""
        tbl = self.db.model.codebase_commits
        return self._get_one(tbl.select().where(tbl.c.id == commitid))

    def get_commit_by_revision(
        self, codebaseid: int, revision: str
    ) -> defer.Deferred[CodebaseCommitModel | None]:
        """The commit of the codebase with that revision, or None."""
        tbl = self.db.model.codebase_commits
        revision = self.ensureLength(tbl.c.revision, revision)
        q = tbl.select().where((tbl.c.codebaseid == codebaseid) & (tbl.c.revision == revision))
        return self._get_one(q)

    def get_commits(
        self, codebaseid: int, limit: int | None = None, offset: int | None = None
    ) -> defer.Deferred[list[CodebaseCommitModel]]:
        """The commits of a codebase, ordered by id, optionally paged."""
        tbl = self.db.model.codebase_commits
        q = tbl.select().where(tbl.c.codebaseid == codebaseid).order_by(tbl.c.id)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        return self._get_list(q)

    def get_first_common_commit_with_ranges(
        self, codebaseid: int, commitid1: int, commitid2: int
    ) -> defer.Deferred[CommitGraphModel | None]:
        """The nearest common ancestor of two commits of a codebase and the commits
        leading from it to each (see CommitGraphModel); None if either commit is not
        in the codebase or their histories never meet.

        Both histories are walked one parent at a time, in turns, so the cost is
        one query per commit between the two and their common ancestor.
        """
        tbl = self.db.model.codebase_commits
        q = sa.select(tbl.c.parent_commitid).where(
            (tbl.c.id == sa.bindparam("commitid")) & (tbl.c.codebaseid == codebaseid)
        )

        def thdCommonCommit(conn: sa.Connection) -> CommitGraphModel | None:
            # the first lookups also check that both commits are in the codebase
            known: dict[int, int | None] = {}
            for commitid in (commitid1, commitid2):
                row = conn.execute(q, {"commitid": commitid}).first()
                if row is None:
                    return None
                known[commitid] = row.parent_commitid

            def parent(commitid: int) -> int | None:
                if commitid in known:
                    return known.pop(commitid)
                return conn.execute(q, {"commitid": commitid}).scalar()

            walks = (_Walk(commitid1), _Walk(commitid2))
            if commitid1 == commitid2:
                return CommitGraphModel(common=commitid1, to1=[], to2=[])
            while not (walks[0].done and walks[1].done):
                for this, other in (walks, walks[::-1]):
                    if this.done:
                        continue
                    reached = this.step(parent(this.path[-1]))
                    if reached is not None and reached in other.seen:
                        return CommitGraphModel(
                            common=reached, to1=walks[0].to(reached), to2=walks[1].to(reached)
                        )
            return None

        return self.db.pool.do(thdCommonCommit)
