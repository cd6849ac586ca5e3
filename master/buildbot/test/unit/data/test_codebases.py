"""Codebases, branches, commits and commit graphs through ``master.data``."""

from buildbot.data.resultspec import Filter
from buildbot.test import fakedb
from buildbot.test.util import dataapi

NOW = dataapi.NOW


class Tests(dataapi.DataMixin):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Project(id=1, name="p1", slug="p1"),
                fakedb.Project(id=2, name="p2", slug="p2"),
                fakedb.Codebase(id=3, projectid=1, name="cb", slug="cb"),
                fakedb.Codebase(id=4, projectid=2, name="cb", slug="cb"),
            ]
        )

    async def add_commit(self, revision, parent=None, codebaseid=3):
        return await self.data.updates.add_commit(
            codebaseid=codebaseid,
            author="me",
            committer=None,
            comments=f"commit {revision}",
            when_timestamp=100,
            revision=revision,
            parent_commitid=parent,
        )

    async def test_codebases(self):
        expected = {"codebaseid": 3, "projectid": 1, "name": "cb", "slug": "cb"}
        self.assertEqual(await self.data.get(("codebases", 3)), expected)
        self.assertEqual(await self.data.get(("projects", 1, "codebases", "cb")), expected)
        self.assertEqual((await self.data.get(("projects", 2, "codebases", "cb")))["codebaseid"], 4)
        self.assertIsNone(await self.data.get(("projects", 1, "codebases", "nope")))
        self.assertIsNone(await self.data.get(("codebases", 99)))
        self.assertEqual([c["codebaseid"] for c in await self.data.get(("codebases",))], [3, 4])
        by_project = await self.data.get(("codebases",), filters=[Filter("projectid", "eq", [2])])
        self.assertEqual([c["codebaseid"] for c in by_project], [4])

    async def test_find_and_update_codebase(self):
        up = self.data.updates
        codebaseid = await up.find_codebase_id(1, "new")
        self.assertEqual(await up.find_codebase_id(1, "new"), codebaseid)
        self.assertIsNone(await up.find_codebase_id(2, "new", auto_create=False))
        self.assertEqual(self.mq.productions, [])
        await up.update_codebase_info(codebaseid, 2, "new-slug")
        expected = {"codebaseid": codebaseid, "projectid": 2, "name": "new", "slug": "new-slug"}
        self.assertEqual(
            self.mq.productions, [(("codebases", str(codebaseid), "update"), expected)]
        )

    async def test_add_commit(self):
        first = await self.add_commit("aaa")
        second = await self.add_commit("bbb", parent=first)
        expected = {
            "commitid": second,
            "codebaseid": 3,
            "author": "me",
            "committer": None,
            "comments": "commit bbb",
            "when_timestamp": 100,
            "revision": "bbb",
            "parent_commitid": first,
        }
        self.assertEqual(
            self.mq.productions[-2:],
            [
                (("commits", str(second), "new"), expected),
                (("codebases", "3", "commits", str(second), "new"), expected),
            ],
        )
        self.assertEqual(len(self.mq.productions), 4)
        self.assertEqual(await self.data.get(("commits", second)), expected)
        self.assertEqual(
            await self.data.get(("codebases", 3, "commits_by_revision", "bbb")), expected
        )
        self.assertIsNone(await self.data.get(("codebases", 4, "commits_by_revision", "bbb")))
        self.assertIsNone(await self.data.get(("commits", 99)))

    async def test_commits_collection_and_paging(self):
        ids = [await self.add_commit(f"r{i}") for i in range(4)]
        await self.add_commit("other", codebaseid=4)
        commits = await self.data.get(("codebases", 3, "commits"))
        self.assertEqual([c["commitid"] for c in commits], ids)
        page = await self.data.get(("codebases", 3, "commits"), limit=2, offset=1)
        self.assertEqual([c["commitid"] for c in page], ids[1:3])
        newest = await self.data.get(("codebases", 3, "commits"), order=["-commitid"], limit=1)
        self.assertEqual([c["commitid"] for c in newest], ids[-1:])

    async def test_update_branch(self):
        commitid = await self.add_commit("aaa")
        self.mq.clearProductions()
        branchid = await self.data.updates.update_branch(3, "main", commitid)
        expected = {
            "branchid": branchid,
            "codebaseid": 3,
            "name": "main",
            "commitid": commitid,
            "last_timestamp": NOW,
        }
        self.assertEqual(self.mq.productions, [(("branches", str(branchid), "update"), expected)])
        self.assertEqual(await self.data.get(("branches", branchid)), expected)
        self.assertEqual(list(await self.data.get(("codebases", 3, "branches"))), [expected])
        self.assertEqual(list(await self.data.get(("codebases", 4, "branches"))), [])
        self.assertIsNone(await self.data.get(("branches", 99)))
        self.assertEqual(
            await self.data.updates.update_branch(3, "main", None, last_timestamp=5), branchid
        )
        branch = await self.data.get(("branches", branchid))
        self.assertEqual((branch["commitid"], branch["last_timestamp"]), (None, 5))

    async def test_commits_common_parent(self):
        base = await self.add_commit("base")
        a1 = await self.add_commit("a1", parent=base)
        a2 = await self.add_commit("a2", parent=a1)
        b1 = await self.add_commit("b1", parent=base)
        path = ("codebases", 3, "commit_range", a2, b1, "commits_common_parent")
        self.assertEqual(await self.data.get(path), {"common": base, "to1": [a1, a2], "to2": [b1]})
        path = ("codebases", 3, "commit_range", a1, a2, "commits_common_parent")
        self.assertEqual(await self.data.get(path), {"common": a1, "to1": [], "to2": [a2]})
        unrelated = await self.add_commit("c")
        path = ("codebases", 3, "commit_range", a2, unrelated, "commits_common_parent")
        self.assertIsNone(await self.data.get(path))
        path = ("codebases", 4, "commit_range", a2, b1, "commits_common_parent")
        self.assertIsNone(await self.data.get(path))


(
    TestFake,
    TestSQLite,
    TestPostgreSQL,
    TestMySQL,
    TestFakeData,
    TestFakeDataSQLite,
) = dataapi.data_test_cases(Tests)
