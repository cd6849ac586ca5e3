"""The build_data component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.build_data import BuildDataModel
from buildbot.test import fakedb
from buildbot.test.unit.db.test_buildsets import read_table
from buildbot.test.util import db


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=88),
                fakedb.Builder(id=77, name="b"),
                fakedb.Buildset(id=20),
                fakedb.BuildRequest(id=40, buildsetid=20, builderid=77),
                fakedb.Build(id=30, number=1, builderid=77, buildrequestid=40, masterid=88),
                fakedb.Build(
                    id=31, number=2, builderid=77, buildrequestid=40, masterid=88, complete_at=1000
                ),
                fakedb.Build(
                    id=32, number=3, builderid=77, buildrequestid=40, masterid=88, complete_at=2000
                ),
            ]
        )

    async def test_set_and_get(self):
        await self.db.build_data.setBuildData(30, "report", b"\x00\x01binary\xff", "tests")
        self.assertEqual(
            await self.db.build_data.getBuildData(30, "report"),
            BuildDataModel(
                buildid=30, name="report", length=9, source="tests", value=b"\x00\x01binary\xff"
            ),
        )
        self.assertEqual(
            await self.db.build_data.getBuildDataNoValue(30, "report"),
            BuildDataModel(buildid=30, name="report", length=9, source="tests", value=None),
        )

    async def test_get_unknown(self):
        await self.db.build_data.setBuildData(30, "report", b"x", "s")
        self.assertIsNone(await self.db.build_data.getBuildData(30, "other"))
        self.assertIsNone(await self.db.build_data.getBuildData(31, "report"))
        self.assertIsNone(await self.db.build_data.getBuildDataNoValue(999, "report"))
        self.assertEqual(await self.db.build_data.getAllBuildDataNoValues(999), [])

    async def test_replace(self):
        await self.db.build_data.setBuildData(30, "report", b"first", "s1")
        await self.db.build_data.setBuildData(30, "report", b"second!", "s2")
        self.assertEqual(
            await self.db.build_data.getBuildData(30, "report"),
            BuildDataModel(30, "report", 7, "s2", b"second!"),
        )
        self.assertEqual(len(await read_table(self, "build_data")), 1)

    async def test_empty_and_large_values(self):
        big = bytes(range(256)) * 4096  # 1 MiB: more than a plain MySQL BLOB holds
        await self.db.build_data.setBuildData(30, "empty", b"", "s")
        await self.db.build_data.setBuildData(30, "big", big, "s")
        self.assertEqual((await self.db.build_data.getBuildData(30, "empty")).value, b"")
        got = await self.db.build_data.getBuildData(30, "big")
        self.assertEqual((got.length, got.value == big), (len(big), True))

    async def test_refused(self):
        with self.assertRaises(TypeError):
            await self.db.build_data.setBuildData(30, "n", "text", "s")
        with self.assertRaises(RuntimeError):
            await self.db.build_data.setBuildData(30, "n" * 257, b"x", "s")
        with self.assertRaises(RuntimeError):
            await self.db.build_data.setBuildData(30, "n", b"x", "s" * 257)
        self.assertEqual(await read_table(self, "build_data"), [])

    async def test_getAllBuildDataNoValues(self):
        await self.db.build_data.setBuildData(30, "b", b"22", "s")
        await self.db.build_data.setBuildData(30, "a", b"1", "t")
        await self.db.build_data.setBuildData(31, "c", b"333", "u")
        self.assertEqual(
            await self.db.build_data.getAllBuildDataNoValues(30),
            [BuildDataModel(30, "b", 2, "s", None), BuildDataModel(30, "a", 1, "t", None)],
        )

    async def test_deleteOldBuildData(self):
        for buildid in (30, 31, 32):
            await self.db.build_data.setBuildData(buildid, "x", b"1", "s")
            await self.db.build_data.setBuildData(buildid, "y", b"2", "s")
        # only complete builds older than the time lose their data
        self.assertEqual(await self.db.build_data.deleteOldBuildData(1500), 2)
        self.assertEqual(await self.db.build_data.getAllBuildDataNoValues(31), [])
        self.assertEqual(len(await self.db.build_data.getAllBuildDataNoValues(30)), 2)
        self.assertEqual(len(await self.db.build_data.getAllBuildDataNoValues(32)), 2)
        self.assertEqual(await self.db.build_data.deleteOldBuildData(1500), 0)
        self.assertEqual(await self.db.build_data.deleteOldBuildData(2000), 0)
        self.assertEqual(await self.db.build_data.deleteOldBuildData(2001), 2)
        self.assertEqual(len(await self.db.build_data.getAllBuildDataNoValues(30)), 2)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
