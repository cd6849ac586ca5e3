from __future__ import annotations

from twisted.internet import defer

from buildbot.db.codebase_commits import CodebaseCommitModel, CommitGraphModel
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> CodebaseCommitModel:
    return CodebaseCommitModel(
        id=row["id"],
        codebaseid=row["codebaseid"],
        author=row["author"],
        committer=row["committer"],
        comments=row["comments"],
        when_timestamp=row["when_timestamp"],
        revision=row["revision"],
        parent_commitid=row["parent_commitid"],
    )


class FakeCodebaseCommitsComponent(FakeDBComponent):
    def add_commit(
        self,
        *,
        codebaseid,
        author,
        committer=None,
        comments,
        when_timestamp,
        revision,
        parent_commitid=None,
    ):
        tbl = self.db.model.codebase_commits
        try:
            commitid = self.t.insert(
                "codebase_commits",
                {
                    "codebaseid": codebaseid,
                    "author": self.ensureLength(tbl.c.author, author),
                    "committer": self.ensureLength(tbl.c.committer, committer),
                    "comments": comments,
                    "when_timestamp": when_timestamp,
                    "revision": self.ensureLength(tbl.c.revision, revision),
                    "parent_commitid": parent_commitid,
                },
            )
        except Exception as e:
            return defer.fail(e)
        return defer.succeed(commitid)

    def _one(self, where):
        row = self.t.select_one("codebase_commits", where)
        return defer.succeed(_model(row) if row is not None else None)

    def get_commit(self, commitid):
        return self._one(lambda r: r["id"] == commitid)

    def get_commit_by_revision(self, codebaseid, revision):
        revision = self.ensureLength(self.db.model.codebase_commits.c.revision, revision)
        return self._one(lambda r: r["codebaseid"] == codebaseid and r["revision"] == revision)

    def get_commits(self, codebaseid, limit=None, offset=None):
        rows = sorted(
            self.t.select("codebase_commits", lambda r: r["codebaseid"] == codebaseid),
            key=lambda r: r["id"],
        )
        rows = rows[offset or 0 :]
        if limit is not None:
            rows = rows[:limit]
        return defer.succeed([_model(r) for r in rows])

    def _ancestry(self, codebaseid, commitid):
        """The commit and its ancestors, nearest first (stopping at a loop)."""
        parents = {
            r["id"]: r["parent_commitid"]
            for r in self.t.select("codebase_commits", lambda r: r["codebaseid"] == codebaseid)
        }
        if commitid not in parents:
            return None
        chain = []
        while commitid is not None and commitid in parents and commitid not in chain:
            chain.append(commitid)
            commitid = parents[commitid]
        return chain

    def get_first_common_commit_with_ranges(self, codebaseid, commitid1, commitid2):
        chain1 = self._ancestry(codebaseid, commitid1)
        chain2 = self._ancestry(codebaseid, commitid2)
        if chain1 is None or chain2 is None:
            return defer.succeed(None)
        for i, commitid in enumerate(chain1):
            if commitid in chain2:
                j = chain2.index(commitid)
                return defer.succeed(
                    CommitGraphModel(
                        common=commitid,
                        to1=list(reversed(chain1[:i])),
                        to2=list(reversed(chain2[:j])),
                    )
                )
        return defer.succeed(None)
