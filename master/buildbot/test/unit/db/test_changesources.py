"""The changesources component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.changesources import ChangeSourceAlreadyClaimedError, ChangeSourceModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=1, name="m1"),
                fakedb.Master(id=2, name="m2"),
            ]
        )

    async def test_findChangeSourceId(self):
        csid = await self.db.changesources.findChangeSourceId("cs")
        self.assertEqual(await self.db.changesources.findChangeSourceId("cs"), csid)
        other = await self.db.changesources.findChangeSourceId("x" * 500)
        self.assertNotEqual(other, csid)
        self.assertEqual(
            await self.db.changesources.getChangeSource(csid), ChangeSourceModel(csid, "cs", None)
        )
        self.assertEqual((await self.db.changesources.getChangeSource(other)).name, "x" * 500)

    async def test_getChangeSource_unknown(self):
        self.assertIsNone(await self.db.changesources.getChangeSource(99))

    async def test_claim_and_release(self):
        await self.insert_test_data([fakedb.ChangeSource(id=5, name="cs")])
        await self.db.changesources.setChangeSourceMaster(5, 1)
        self.assertEqual(
            await self.db.changesources.getChangeSource(5), ChangeSourceModel(5, "cs", 1)
        )
        # claiming again for the same master is fine
        await self.db.changesources.setChangeSourceMaster(5, 1)
        with self.assertRaises(ChangeSourceAlreadyClaimedError) as cm:
            await self.db.changesources.setChangeSourceMaster(5, 2)
        self.assertIn("m1", str(cm.exception))
        self.assertEqual((await self.db.changesources.getChangeSource(5)).masterid, 1)
        await self.db.changesources.setChangeSourceMaster(5, None)
        self.assertEqual((await self.db.changesources.getChangeSource(5)).masterid, None)
        await self.db.changesources.setChangeSourceMaster(5, None)
        await self.db.changesources.setChangeSourceMaster(5, 2)
        self.assertEqual((await self.db.changesources.getChangeSource(5)).masterid, 2)

    async def test_claim_unknown(self):
        await self.insert_test_data([fakedb.ChangeSource(id=5, name="cs")])
        with self.assertRaises(KeyError):
            await self.db.changesources.setChangeSourceMaster(99, 1)
        with self.assertRaises(KeyError):
            await self.db.changesources.setChangeSourceMaster(5, 99)
        self.assertEqual((await self.db.changesources.getChangeSource(5)).masterid, None)

    async def test_getChangeSources_filters(self):
        await self.insert_test_data(
            [
                fakedb.ChangeSource(id=7, name="c7"),
                fakedb.ChangeSource(id=5, name="c5"),
                fakedb.ChangeSource(id=6, name="c6"),
                fakedb.ChangeSourceMaster(changesourceid=5, masterid=1),
                fakedb.ChangeSourceMaster(changesourceid=6, masterid=2),
            ]
        )

        async def ids(**kw):
            return [c.id for c in await self.db.changesources.getChangeSources(**kw)]

        self.assertEqual(
            await self.db.changesources.getChangeSources(),
            [
                ChangeSourceModel(5, "c5", 1),
                ChangeSourceModel(6, "c6", 2),
                ChangeSourceModel(7, "c7"),
            ],
        )
        self.assertEqual(await ids(active=True), [5, 6])
        self.assertEqual(await ids(active=False), [7])
        self.assertEqual(await ids(masterid=2), [6])
        self.assertEqual(await ids(active=True, masterid=1), [5])
        self.assertEqual(await ids(active=False, masterid=1), [])
        self.assertEqual(await ids(masterid=99), [])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
