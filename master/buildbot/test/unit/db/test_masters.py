"""The masters component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.masters import MasterModel
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.util import epoch2datetime

SOMETIME = 1348971992


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)

    async def test_findMasterId_new_and_existing(self):
        id1 = await self.db.masters.findMasterId("master-7")
        self.assertEqual(
            await self.db.masters.getMaster(id1),
            MasterModel(
                id=id1, name="master-7", active=False, last_active=epoch2datetime(SOMETIME)
            ),
        )
        self.assertEqual(await self.db.masters.findMasterId("master-7"), id1)
        id2 = await self.db.masters.findMasterId("master-8")
        self.assertNotEqual(id1, id2)

    async def test_findMasterId_long_name(self):
        name = "h" * 300 + ":/some/basedir"
        masterid = await self.db.masters.findMasterId(name)
        self.assertEqual((await self.db.masters.getMaster(masterid)).name, name)

    async def test_getMaster_unknown_is_none(self):
        self.assertIsNone(await self.db.masters.getMaster(999))

    async def test_getMasters(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=7, name="some:master", active=1, last_active=SOMETIME),
                fakedb.Master(id=8, name="other:master", active=0, last_active=SOMETIME - 5),
            ]
        )
        self.assertEqual(
            await self.db.masters.getMasters(),
            [
                MasterModel(7, "some:master", True, epoch2datetime(SOMETIME)),
                MasterModel(8, "other:master", False, epoch2datetime(SOMETIME - 5)),
            ],
        )

    async def test_setMasterState_activate(self):
        await self.insert_test_data([fakedb.Master(id=7, active=0, last_active=0)])
        self.assertTrue(await self.db.masters.setMasterState(7, True))
        master = await self.db.masters.getMaster(7)
        self.assertEqual((master.active, master.last_active), (True, epoch2datetime(SOMETIME)))

    async def test_setMasterState_active_again_refreshes_last_active(self):
        await self.insert_test_data([fakedb.Master(id=7, active=1, last_active=0)])
        self.assertFalse(await self.db.masters.setMasterState(7, True))
        self.assertEqual((await self.db.masters.getMaster(7)).last_active, epoch2datetime(SOMETIME))

    async def test_setMasterState_deactivate_releases_what_it_held(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=7, active=1, last_active=SOMETIME - 10),
                fakedb.Master(id=8, name="other:master", active=1),
                fakedb.Builder(id=20, name="b"),
                fakedb.BuilderMaster(id=21, builderid=20, masterid=7),
                fakedb.BuilderMaster(id=22, builderid=20, masterid=8),
                fakedb.Worker(id=30, name="w"),
                fakedb.ConfiguredWorker(id=31, buildermasterid=21, workerid=30),
                fakedb.ConfiguredWorker(id=32, buildermasterid=22, workerid=30),
                fakedb.ConnectedWorker(id=33, masterid=7, workerid=30),
                fakedb.Scheduler(id=40, name="s"),
                fakedb.SchedulerMaster(schedulerid=40, masterid=7),
                fakedb.ChangeSource(id=50, name="cs"),
                fakedb.ChangeSourceMaster(changesourceid=50, masterid=7),
            ]
        )
        self.assertTrue(await self.db.masters.setMasterState(7, False))
        master = await self.db.masters.getMaster(7)
        # going inactive keeps the time it was last seen
        self.assertEqual(
            (master.active, master.last_active), (False, epoch2datetime(SOMETIME - 10))
        )
        self.assertFalse(await self.db.masters.setMasterState(7, False))
        self.assertFalse(await self.db.masters.setMasterState(999, False))
        self.assertEqual((await self.db.masters.getMaster(8)).active, True)

    async def test_setAllMastersActiveLongTimeAgo(self):
        await self.insert_test_data([fakedb.Master(id=7, active=0, last_active=SOMETIME)])
        await self.db.masters.setAllMastersActiveLongTimeAgo()
        master = await self.db.masters.getMaster(7)
        self.assertEqual((master.active, master.last_active), (True, epoch2datetime(0)))


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
