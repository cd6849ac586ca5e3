"""The schedulers component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.schedulers import SchedulerAlreadyClaimedError, SchedulerModel
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

    async def test_findSchedulerId(self):
        sid = await self.db.schedulers.findSchedulerId("sched")
        self.assertEqual(await self.db.schedulers.findSchedulerId("sched"), sid)
        self.assertNotEqual(await self.db.schedulers.findSchedulerId("other"), sid)
        self.assertEqual(
            await self.db.schedulers.getScheduler(sid),
            SchedulerModel(id=sid, name="sched", enabled=True, masterid=None),
        )

    async def test_getScheduler_unknown(self):
        self.assertIsNone(await self.db.schedulers.getScheduler(99))

    async def test_enable(self):
        await self.insert_test_data([fakedb.Scheduler(id=5, name="s")])
        await self.db.schedulers.enable(5, False)
        self.assertFalse((await self.db.schedulers.getScheduler(5)).enabled)
        await self.db.schedulers.enable(5, True)
        self.assertTrue((await self.db.schedulers.getScheduler(5)).enabled)
        await self.db.schedulers.enable(99, False)  # unknown: ignored

    async def test_claim_and_release(self):
        await self.insert_test_data([fakedb.Scheduler(id=5, name="s")])
        await self.db.schedulers.setSchedulerMaster(5, 1)
        self.assertEqual(await self.db.schedulers.getScheduler(5), SchedulerModel(5, "s", True, 1))
        await self.db.schedulers.setSchedulerMaster(5, 1)
        with self.assertRaises(SchedulerAlreadyClaimedError) as cm:
            await self.db.schedulers.setSchedulerMaster(5, 2)
        self.assertIn("m1", str(cm.exception))
        await self.db.schedulers.setSchedulerMaster(5, None)
        self.assertIsNone((await self.db.schedulers.getScheduler(5)).masterid)
        await self.db.schedulers.setSchedulerMaster(5, 2)
        self.assertEqual((await self.db.schedulers.getScheduler(5)).masterid, 2)

    async def test_claim_unknown(self):
        await self.insert_test_data([fakedb.Scheduler(id=5, name="s")])
        with self.assertRaises(KeyError):
            await self.db.schedulers.setSchedulerMaster(99, 1)
        with self.assertRaises(KeyError):
            await self.db.schedulers.setSchedulerMaster(5, 99)

    async def test_getSchedulers_filters(self):
        await self.insert_test_data(
            [
                fakedb.Scheduler(id=7, name="s7", enabled=0),
                fakedb.Scheduler(id=5, name="s5"),
                fakedb.Scheduler(id=6, name="s6"),
                fakedb.SchedulerMaster(schedulerid=5, masterid=1),
                fakedb.SchedulerMaster(schedulerid=6, masterid=2),
            ]
        )

        async def ids(**kw):
            return [s.id for s in await self.db.schedulers.getSchedulers(**kw)]

        self.assertEqual(
            await self.db.schedulers.getSchedulers(),
            [
                SchedulerModel(5, "s5", True, 1),
                SchedulerModel(6, "s6", True, 2),
                SchedulerModel(7, "s7", False, None),
            ],
        )
        self.assertEqual(await ids(active=True), [5, 6])
        self.assertEqual(await ids(active=False), [7])
        self.assertEqual(await ids(masterid=1), [5])
        self.assertEqual(await ids(active=False, masterid=1), [])

    async def _changes(self):
        rows = [fakedb.Scheduler(id=5, name="s"), fakedb.Scheduler(id=6, name="t")]
        specs = {
            1: {"branch": "main"},
            2: {"branch": None},
            3: {"branch": "main", "repository": "other"},
            4: {"branch": "main", "codebase": "cb"},
            5: {"branch": "main", "project": "p2"},
        }
        for i, kw in specs.items():
            rows.append(fakedb.SourceStamp(id=i, revision=str(i)))
            rows.append(fakedb.Change(changeid=i, sourcestampid=i, **kw))
        await self.insert_test_data(rows)

    async def test_classifyChanges(self):
        await self._changes()
        await self.db.schedulers.classifyChanges(5, {1: True, 2: False, 3: 1})
        await self.db.schedulers.classifyChanges(6, {1: False})
        self.assertEqual(
            await self.db.schedulers.getChangeClassifications(5), {1: True, 2: False, 3: True}
        )
        # reclassifying replaces
        await self.db.schedulers.classifyChanges(5, {1: False, 4: True, 3: True})
        self.assertEqual(
            await self.db.schedulers.getChangeClassifications(5),
            {1: False, 2: False, 3: True, 4: True},
        )
        self.assertEqual(await self.db.schedulers.getChangeClassifications(6), {1: False})
        self.assertEqual(await self.db.schedulers.getChangeClassifications(99), {})

    async def test_getChangeClassifications_filters(self):
        await self._changes()
        await self.db.schedulers.classifyChanges(5, {i: i % 2 == 1 for i in range(1, 6)})
        get = self.db.schedulers.getChangeClassifications
        self.assertEqual(await get(5, branch="main"), {1: True, 3: True, 4: False, 5: True})
        self.assertEqual(await get(5, branch=None), {2: False})
        self.assertEqual(await get(5, repository="other"), {3: True})
        self.assertEqual(
            await get(5, branch="main", repository="repo"), {1: True, 4: False, 5: True}
        )
        self.assertEqual(await get(5, codebase="cb"), {4: False})
        self.assertEqual(await get(5, project="p2"), {5: True})
        self.assertEqual(await get(5, branch="nope"), {})

    async def test_flushChangeClassifications(self):
        await self._changes()
        await self.db.schedulers.classifyChanges(5, {1: True, 2: False, 3: True, 4: True})
        await self.db.schedulers.classifyChanges(6, {1: True})
        await self.db.schedulers.flushChangeClassifications(5, less_than=3)
        self.assertEqual(await self.db.schedulers.getChangeClassifications(5), {3: True, 4: True})
        await self.db.schedulers.flushChangeClassifications(5)
        self.assertEqual(await self.db.schedulers.getChangeClassifications(5), {})
        self.assertEqual(await self.db.schedulers.getChangeClassifications(6), {1: True})

    async def test_flushChangeClassifications_of_some_changes(self):
        await self._changes()
        await self.db.schedulers.classifyChanges(5, {1: True, 2: False, 3: True, 4: True})
        await self.db.schedulers.classifyChanges(6, {1: True, 2: True})
        await self.db.schedulers.flushChangeClassifications(5, changeids=[2, 4])
        self.assertEqual(await self.db.schedulers.getChangeClassifications(5), {1: True, 3: True})
        await self.db.schedulers.flushChangeClassifications(5, less_than=3, changeids=[1, 3])
        self.assertEqual(await self.db.schedulers.getChangeClassifications(5), {3: True})
        await self.db.schedulers.flushChangeClassifications(5, changeids=[])
        self.assertEqual(await self.db.schedulers.getChangeClassifications(5), {3: True})
        self.assertEqual(await self.db.schedulers.getChangeClassifications(6), {1: True, 2: True})


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
