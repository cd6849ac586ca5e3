"""The codebase_commits component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import sqlalchemy as sa

from buildbot.db.codebase_commits import CodebaseCommitModel, CommitGraphModel
from buildbot.test import fakedb
from buildbot.test.util import db


def chain(codebaseid, ids, parent=None):
    """Commits `ids`, each the child of the one before (the first of `parent`)."""
    rows = []
    for commitid in ids:
        rows.append(
            fakedb.CodebaseCommit(
                id=commitid,
                codebaseid=codebaseid,
                revision=f"r{commitid}",
                parent_commitid=parent,
            )
        )
        parent = commitid
    return rows


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Project(id=1),
                fakedb.Codebase(id=1, projectid=1, name="a"),
                fakedb.Codebase(id=2, projectid=1, name="b"),
            ]
        )

    async def test_add_commit_and_get(self):
        commits = self.db.codebase_commits
        first = await commits.add_commit(
            codebaseid=1, author="me", comments="one", when_timestamp=100, revision="abc"
        )
        second = await commits.add_commit(
            codebaseid=1,
            author="me <me@x>",
            committer="you",
            comments="two",
            when_timestamp=200,
            revision="def",
            parent_commitid=first,
        )
        expected = CodebaseCommitModel(
            id=second,
            codebaseid=1,
            author="me <me@x>",
            committer="you",
            comments="two",
            when_timestamp=200,
            revision="def",
            parent_commitid=first,
        )
        self.assertEqual(await commits.get_commit(second), expected)
        self.assertEqual(await commits.get_commit_by_revision(1, "def"), expected)
        self.assertIsNone(await commits.get_commit_by_revision(2, "def"))
        self.assertEqual(
            await commits.get_commit(first),
            CodebaseCommitModel(first, 1, "me", None, "one", 100, "abc", None),
        )

    async def test_add_commit_duplicate_revision(self):
        commits = self.db.codebase_commits
        kwargs = {"author": "me", "comments": "c", "when_timestamp": 1, "revision": "abc"}
        await commits.add_commit(codebaseid=1, **kwargs)
        with self.assertRaises(sa.exc.IntegrityError):
            await commits.add_commit(codebaseid=1, **kwargs)
        # the same revision in another codebase is fine
        await commits.add_commit(codebaseid=2, **kwargs)

    async def test_add_commit_long_values_are_shortened(self):
        commits = self.db.codebase_commits
        revision = "f" * 100
        commitid = await commits.add_commit(
            codebaseid=1, author="a" * 300, comments="c", when_timestamp=1, revision=revision
        )
        commit = await commits.get_commit(commitid)
        # half kept, then (up to) half of a 40-character SHA-1 hex
        self.assertEqual((len(commit.author), len(commit.revision)), (127 + 40, 35 + 35))
        self.assertEqual((await commits.get_commit_by_revision(1, revision)).id, commitid)

    async def test_get_unknown_is_none(self):
        self.assertIsNone(await self.db.codebase_commits.get_commit(99))
        self.assertIsNone(await self.db.codebase_commits.get_commit_by_revision(1, "x"))

    async def test_get_commits(self):
        await self.insert_test_data(chain(1, [3, 1, 2]) + chain(2, [4]))
        commits = self.db.codebase_commits
        self.assertEqual([c.id for c in await commits.get_commits(1)], [1, 2, 3])
        self.assertEqual([c.id for c in await commits.get_commits(1, limit=2)], [1, 2])
        self.assertEqual([c.id for c in await commits.get_commits(1, limit=1, offset=1)], [2])
        self.assertEqual([c.id for c in await commits.get_commits(1, offset=2)], [3])
        self.assertEqual([c.id for c in await commits.get_commits(2)], [4])
        self.assertEqual(await commits.get_commits(9), [])

    async def common(self, commitid1, commitid2, codebaseid=1):
        return await self.db.codebase_commits.get_first_common_commit_with_ranges(
            codebaseid, commitid1, commitid2
        )

    async def test_common_commit_of_diverging_branches(self):
        # 1 <- 2 <- 3 <- 4 <- 5        (5 is the tip of one branch)
        #            ^- 6 <- 7         (7 the tip of another)
        await self.insert_test_data(chain(1, [1, 2, 3, 4, 5]) + chain(1, [6, 7], parent=3))
        self.assertEqual(await self.common(5, 7), CommitGraphModel(3, [4, 5], [6, 7]))
        self.assertEqual(await self.common(7, 5), CommitGraphModel(3, [6, 7], [4, 5]))
        self.assertEqual(await self.common(4, 7), CommitGraphModel(3, [4], [6, 7]))

    async def test_common_commit_when_one_is_ancestor(self):
        await self.insert_test_data(chain(1, [1, 2, 3, 4]))
        self.assertEqual(await self.common(2, 4), CommitGraphModel(2, [], [3, 4]))
        self.assertEqual(await self.common(4, 1), CommitGraphModel(1, [2, 3, 4], []))
        self.assertEqual(await self.common(3, 3), CommitGraphModel(3, [], []))

    async def test_common_commit_none(self):
        # two unrelated histories; a commit of another codebase; an unknown commit
        await self.insert_test_data(chain(1, [1, 2]) + chain(1, [3, 4]) + chain(2, [5]))
        self.assertIsNone(await self.common(2, 4))
        self.assertIsNone(await self.common(2, 5))
        self.assertIsNone(await self.common(2, 99))
        self.assertIsNone(await self.common(99, 99))
        self.assertIsNone(await self.common(1, 2, codebaseid=2))


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
