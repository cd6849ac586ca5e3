"""The tags component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def test_findTagId_creates_then_finds(self):
        tagid = await self.db.tags.findTagId("tag1")
        self.assertEqual(await self.db.tags.findTagId("tag1"), tagid)
        self.assertNotEqual(await self.db.tags.findTagId("tag2"), tagid)

    async def test_findTagId_existing(self):
        await self.insert_test_data([fakedb.Tag(id=7, name="tag1")])
        self.assertEqual(await self.db.tags.findTagId("tag1"), 7)

    async def test_findTagId_case_and_length(self):
        # names are compared by hash: case matters and length is unbounded
        lower = await self.db.tags.findTagId("tag")
        self.assertNotEqual(await self.db.tags.findTagId("TAG"), lower)
        long_name = "t" * 1000
        longid = await self.db.tags.findTagId(long_name)
        self.assertEqual(await self.db.tags.findTagId(long_name), longid)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
