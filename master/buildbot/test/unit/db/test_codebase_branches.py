"""The codebase_branches component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.codebase_branches import CodebaseBranchModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Project(id=1),
                fakedb.Codebase(id=1, projectid=1, name="a"),
                fakedb.Codebase(id=2, projectid=1, name="b"),
                fakedb.CodebaseCommit(id=10, codebaseid=1, revision="r10"),
                fakedb.CodebaseCommit(id=11, codebaseid=1, revision="r11", parent_commitid=10),
            ]
        )

    async def test_update_branch_creates_then_updates(self):
        branches = self.db.codebase_branches
        branchid = await branches.update_branch(
            codebaseid=1, name="main", commitid=10, last_timestamp=100
        )
        self.assertEqual(
            await branches.get_branch(branchid),
            CodebaseBranchModel(
                id=branchid, codebaseid=1, name="main", commitid=10, last_timestamp=100
            ),
        )
        again = await branches.update_branch(
            codebaseid=1, name="main", commitid=11, last_timestamp=200
        )
        self.assertEqual(again, branchid)
        self.assertEqual(
            await branches.get_branches(1), [CodebaseBranchModel(branchid, 1, "main", 11, 200)]
        )
        # the same name in another codebase is another branch
        other = await branches.update_branch(
            codebaseid=2, name="main", commitid=None, last_timestamp=300
        )
        self.assertNotEqual(other, branchid)
        self.assertEqual(
            await branches.get_branches(2), [CodebaseBranchModel(other, 2, "main", None, 300)]
        )

    async def test_get_branch_unknown_is_none(self):
        self.assertIsNone(await self.db.codebase_branches.get_branch(99))
        self.assertIsNone(await self.db.codebase_branches.get_branch_by_name(1, "main"))

    async def test_get_branches_ordered_by_id(self):
        await self.insert_test_data(
            [
                fakedb.CodebaseBranch(id=5, codebaseid=1, name="z", commitid=10),
                fakedb.CodebaseBranch(id=3, codebaseid=1, name="y", commitid=11),
                fakedb.CodebaseBranch(id=4, codebaseid=2, name="x"),
            ]
        )
        self.assertEqual(
            await self.db.codebase_branches.get_branches(1),
            [
                CodebaseBranchModel(3, 1, "y", 11, 1234567),
                CodebaseBranchModel(5, 1, "z", 10, 1234567),
            ],
        )
        self.assertEqual(await self.db.codebase_branches.get_branches(9), [])
        self.assertEqual(
            await self.db.codebase_branches.get_branch_by_name(1, "z"),
            CodebaseBranchModel(5, 1, "z", 10, 1234567),
        )

    async def test_long_name_is_shortened_and_still_found(self):
        branches = self.db.codebase_branches
        name = "feature/" + "n" * 300
        branchid = await branches.update_branch(
            codebaseid=1, name=name, commitid=10, last_timestamp=1
        )
        branch = await branches.get_branch(branchid)
        self.assertEqual(len(branch.name), 127 + 40)  # half kept + a SHA-1 hex
        self.assertTrue(branch.name.startswith(name[:127]))
        self.assertEqual((await branches.get_branch_by_name(1, name)).id, branchid)
        self.assertEqual(
            await branches.update_branch(codebaseid=1, name=name, commitid=11, last_timestamp=2),
            branchid,
        )
        self.assertEqual((await branches.get_branch(branchid)).commitid, 11)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
