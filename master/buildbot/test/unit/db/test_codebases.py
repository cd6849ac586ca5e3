"""The codebases component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.codebases import CodebaseModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [fakedb.Project(id=1, name="p1", slug="p1"), fakedb.Project(id=2, name="p2", slug="p2")]
        )

    async def test_find_codebase_id_creates_then_finds(self):
        codebaseid = await self.db.codebases.find_codebase_id(1, "cb")
        self.assertEqual(
            await self.db.codebases.get_codebase(codebaseid),
            CodebaseModel(id=codebaseid, projectid=1, name="cb", slug="cb"),
        )
        self.assertEqual(await self.db.codebases.find_codebase_id(1, "cb"), codebaseid)
        # the same name in another project is another codebase
        other = await self.db.codebases.find_codebase_id(2, "cb")
        self.assertNotEqual(other, codebaseid)
        self.assertNotEqual(await self.db.codebases.find_codebase_id(1, "cb2"), codebaseid)

    async def test_find_codebase_id_no_auto_create(self):
        self.assertIsNone(await self.db.codebases.find_codebase_id(1, "cb", auto_create=False))
        self.assertEqual(await self.db.codebases.get_codebases(), [])
        await self.insert_test_data([fakedb.Codebase(id=7, projectid=2, name="cb")])
        self.assertEqual(await self.db.codebases.find_codebase_id(2, "cb", auto_create=False), 7)
        self.assertIsNone(await self.db.codebases.find_codebase_id(1, "cb", auto_create=False))

    async def test_find_codebase_id_long_name_shortens_slug(self):
        name = "c" * 80
        codebaseid = await self.db.codebases.find_codebase_id(1, name)
        codebase = await self.db.codebases.get_codebase(codebaseid)
        self.assertEqual(codebase.name, name)
        self.assertEqual(len(codebase.slug), 50)
        self.assertTrue(codebase.slug.startswith("c" * 25))
        self.assertEqual(await self.db.codebases.find_codebase_id(1, name), codebaseid)

    async def test_get_codebase_unknown_is_none(self):
        self.assertIsNone(await self.db.codebases.get_codebase(99))

    async def test_get_codebases(self):
        await self.insert_test_data(
            [
                fakedb.Codebase(id=3, projectid=2, name="z", slug="z"),
                fakedb.Codebase(id=1, projectid=1, name="b", slug="b"),
                fakedb.Codebase(id=2, projectid=2, name="a", slug="a"),
            ]
        )
        self.assertEqual(
            await self.db.codebases.get_codebases(),
            [
                CodebaseModel(1, 1, "b", "b"),
                CodebaseModel(2, 2, "a", "a"),
                CodebaseModel(3, 2, "z", "z"),
            ],
        )
        self.assertEqual([c.id for c in await self.db.codebases.get_codebases(projectid=2)], [2, 3])
        self.assertEqual(await self.db.codebases.get_codebases(projectid=9), [])

    async def test_update_codebase_info(self):
        await self.insert_test_data(
            [
                fakedb.Codebase(id=1, projectid=1, name="a", slug="a"),
                fakedb.Codebase(id=2, projectid=1, name="b", slug="b"),
            ]
        )
        await self.db.codebases.update_codebase_info(1, 2, "slug-a")
        self.assertEqual(
            await self.db.codebases.get_codebase(1), CodebaseModel(1, 2, "a", "slug-a")
        )
        self.assertEqual(await self.db.codebases.get_codebase(2), CodebaseModel(2, 1, "b", "b"))
        # an unknown codebase is left alone
        await self.db.codebases.update_codebase_info(99, 1, "s")
        self.assertIsNone(await self.db.codebases.get_codebase(99))

    async def test_update_codebase_info_slug_too_long(self):
        await self.insert_test_data([fakedb.Codebase(id=1, projectid=1, name="a", slug="a")])
        with self.assertRaises(RuntimeError):
            await self.db.codebases.update_codebase_info(1, 1, "s" * 51)
        self.assertEqual(await self.db.codebases.get_codebase(1), CodebaseModel(1, 1, "a", "a"))


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
