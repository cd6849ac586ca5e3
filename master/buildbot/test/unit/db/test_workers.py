"""The workers component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.workers import BuilderMasterModel, WorkerModel
from buildbot.test import fakedb
from buildbot.test.util import db

INFO = {"admin": "me", "host": "box", "access_uri": None, "version": "4.3"}


class Tests:
    # masters 10 and 11; builders 20 (on both), 21 (on 10), 22 (on 11);
    # worker 30 configured on 20@10, 21@10, 20@11 and connected to 10;
    # worker 31 configured on 22@11, paused and graceful;
    # worker 32 connected to 11 only, configured nowhere
    async def insert_workers(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=10, name="m10"),
                fakedb.Master(id=11, name="m11"),
                fakedb.Builder(id=20, name="b20"),
                fakedb.Builder(id=21, name="b21"),
                fakedb.Builder(id=22, name="b22"),
                fakedb.BuilderMaster(id=40, builderid=20, masterid=10),
                fakedb.BuilderMaster(id=41, builderid=21, masterid=10),
                fakedb.BuilderMaster(id=42, builderid=20, masterid=11),
                fakedb.BuilderMaster(id=43, builderid=22, masterid=11),
                fakedb.Worker(id=30, name="w30", info='{"host": "a"}'),
                fakedb.Worker(id=31, name="w31", paused=1, pause_reason="broken disk", graceful=1),
                fakedb.Worker(id=32, name="w32"),
                fakedb.ConfiguredWorker(buildermasterid=40, workerid=30),
                fakedb.ConfiguredWorker(buildermasterid=41, workerid=30),
                fakedb.ConfiguredWorker(buildermasterid=42, workerid=30),
                fakedb.ConfiguredWorker(buildermasterid=43, workerid=31),
                fakedb.ConnectedWorker(masterid=10, workerid=30),
                fakedb.ConnectedWorker(masterid=11, workerid=32),
            ]
        )

    def w30(self, **kwargs):
        values = {
            "id": 30,
            "name": "w30",
            "workerinfo": {"host": "a"},
            "configured_on": [
                BuilderMasterModel(20, 10),
                BuilderMasterModel(20, 11),
                BuilderMasterModel(21, 10),
            ],
            "connected_to": [10],
        }
        values.update(kwargs)
        return WorkerModel(**values)

    def w31(self, **kwargs):
        values = {
            "id": 31,
            "name": "w31",
            "workerinfo": {},
            "paused": True,
            "pause_reason": "broken disk",
            "graceful": True,
            "configured_on": [BuilderMasterModel(22, 11)],
        }
        values.update(kwargs)
        return WorkerModel(**values)

    def w32(self, **kwargs):
        values = {"id": 32, "name": "w32", "workerinfo": {}, "connected_to": [11]}
        values.update(kwargs)
        return WorkerModel(**values)

    async def test_findWorkerId_creates_then_finds(self):
        workerid = await self.db.workers.findWorkerId("some:worker")
        self.assertEqual(
            await self.db.workers.getWorker(workerid),
            WorkerModel(id=workerid, name="some:worker", workerinfo={}),
        )
        self.assertEqual(await self.db.workers.findWorkerId("some:worker"), workerid)
        self.assertNotEqual(await self.db.workers.findWorkerId("other"), workerid)

    async def test_findWorkerId_name_limit(self):
        name = "w" * 50
        workerid = await self.db.workers.findWorkerId(name)
        self.assertEqual((await self.db.workers.getWorker(workerid)).name, name)
        with self.assertRaises(RuntimeError):
            await self.db.workers.findWorkerId("w" * 51)
        self.assertEqual(len(await self.db.workers.getWorkers()), 1)

    async def test_getWorker(self):
        await self.insert_workers()
        self.assertEqual(await self.db.workers.getWorker(30), self.w30())
        self.assertEqual(await self.db.workers.getWorker(name="w31"), self.w31())
        self.assertEqual(await self.db.workers.getWorker(workerid=32, name="w32"), self.w32())

    async def test_getWorker_unknown(self):
        await self.insert_workers()
        self.assertIsNone(await self.db.workers.getWorker(99))
        self.assertIsNone(await self.db.workers.getWorker(name="nobody"))
        self.assertIsNone(await self.db.workers.getWorker(30, name="w31"))

    async def test_getWorker_needs_id_or_name(self):
        with self.assertRaises(ValueError):
            await self.db.workers.getWorker()

    async def test_getWorker_narrowed(self):
        await self.insert_workers()
        self.assertEqual(
            await self.db.workers.getWorker(30, masterid=11),
            self.w30(configured_on=[BuilderMasterModel(20, 11)], connected_to=[]),
        )
        self.assertEqual(
            await self.db.workers.getWorker(30, builderid=20),
            self.w30(configured_on=[BuilderMasterModel(20, 10), BuilderMasterModel(20, 11)]),
        )
        self.assertEqual(
            await self.db.workers.getWorker(30, masterid=10, builderid=21),
            self.w30(configured_on=[BuilderMasterModel(21, 10)]),
        )
        self.assertIsNone(await self.db.workers.getWorker(30, builderid=22))
        # connected but configured nowhere
        self.assertIsNone(await self.db.workers.getWorker(32, masterid=11))

    async def test_getWorkers_all(self):
        self.assertEqual(await self.db.workers.getWorkers(), [])
        await self.insert_workers()
        self.assertEqual(await self.db.workers.getWorkers(), [self.w30(), self.w31(), self.w32()])

    async def test_getWorkers_by_master_and_builder(self):
        await self.insert_workers()
        self.assertEqual(
            await self.db.workers.getWorkers(masterid=10),
            [self.w30(configured_on=[BuilderMasterModel(20, 10), BuilderMasterModel(21, 10)])],
        )
        self.assertEqual(
            await self.db.workers.getWorkers(masterid=11),
            [self.w30(configured_on=[BuilderMasterModel(20, 11)], connected_to=[]), self.w31()],
        )
        self.assertEqual(
            await self.db.workers.getWorkers(builderid=22),
            [self.w31()],
        )
        self.assertEqual(await self.db.workers.getWorkers(masterid=10, builderid=22), [])
        self.assertEqual(await self.db.workers.getWorkers(masterid=99), [])

    async def test_getWorkers_by_state(self):
        await self.insert_workers()

        async def ids(**kwargs):
            return [w.id for w in await self.db.workers.getWorkers(**kwargs)]

        self.assertEqual(await ids(paused=True), [31])
        self.assertEqual(await ids(paused=False), [30, 32])
        self.assertEqual(await ids(graceful=True), [31])
        self.assertEqual(await ids(graceful=False), [30, 32])
        self.assertEqual(await ids(paused=True, graceful=False), [])
        self.assertEqual(await ids(masterid=11, paused=False), [30])

    async def test_workerConnected(self):
        await self.insert_workers()
        await self.db.workers.workerConnected(32, 10, INFO)
        worker = await self.db.workers.getWorker(32)
        self.assertEqual((worker.workerinfo, worker.connected_to), (INFO, [10, 11]))
        # again, with new info: still one connection
        await self.db.workers.workerConnected(32, 10, {"host": "new"})
        worker = await self.db.workers.getWorker(32)
        self.assertEqual((worker.workerinfo, worker.connected_to), ({"host": "new"}, [10, 11]))

    async def test_workerConnected_unknown_ids_ignored(self):
        await self.insert_workers()
        await self.db.workers.workerConnected(99, 10, INFO)
        await self.db.workers.workerConnected(32, 99, INFO)
        self.assertEqual(await self.db.workers.getWorker(32), self.w32())
        self.assertIsNone(await self.db.workers.getWorker(99))

    async def test_workerDisconnected(self):
        await self.insert_workers()
        await self.db.workers.workerDisconnected(30, 10)
        await self.db.workers.workerDisconnected(30, 10)
        await self.db.workers.workerDisconnected(32, 10)  # not connected there
        self.assertEqual(await self.db.workers.getWorker(30), self.w30(connected_to=[]))
        self.assertEqual(await self.db.workers.getWorker(32), self.w32())

    async def test_workerConfigured_replaces_for_that_master(self):
        await self.insert_workers()
        # 22 is not run by master 10 and is ignored; the duplicate counts once
        await self.db.workers.workerConfigured(30, 10, [21, 22, 21])
        self.assertEqual(
            await self.db.workers.getWorker(30),
            self.w30(configured_on=[BuilderMasterModel(20, 11), BuilderMasterModel(21, 10)]),
        )
        await self.db.workers.workerConfigured(32, 11, [20, 22])
        self.assertEqual(
            await self.db.workers.getWorker(32),
            self.w32(configured_on=[BuilderMasterModel(20, 11), BuilderMasterModel(22, 11)]),
        )
        await self.db.workers.workerConfigured(30, 11, [])
        self.assertEqual(
            await self.db.workers.getWorker(30),
            self.w30(configured_on=[BuilderMasterModel(21, 10)]),
        )
        # others untouched
        self.assertEqual(await self.db.workers.getWorker(31), self.w31())

    async def test_workerConfigured_unknown_worker_ignored(self):
        await self.insert_workers()
        await self.db.workers.workerConfigured(99, 10, [20])
        self.assertEqual([w.id for w in await self.db.workers.getWorkers(builderid=20)], [30])

    async def test_deconfigureAllWorkersForMaster(self):
        await self.insert_workers()
        await self.db.workers.deconfigureAllWorkersForMaster(11)
        self.assertEqual(
            await self.db.workers.getWorkers(),
            [
                self.w30(configured_on=[BuilderMasterModel(20, 10), BuilderMasterModel(21, 10)]),
                self.w31(configured_on=[]),
                self.w32(),
            ],
        )
        await self.db.workers.deconfigureAllWorkersForMaster(99)
        self.assertEqual(len((await self.db.workers.getWorker(30)).configured_on), 2)

    async def test_set_worker_paused(self):
        await self.insert_workers()
        await self.db.workers.set_worker_paused(30, True, "maintenance")
        worker = await self.db.workers.getWorker(30)
        self.assertEqual((worker.paused, worker.pause_reason), (True, "maintenance"))
        await self.db.workers.set_worker_paused(30, False)
        worker = await self.db.workers.getWorker(30)
        self.assertEqual((worker.paused, worker.pause_reason), (False, None))
        await self.db.workers.set_worker_paused(99, True)  # unknown: nothing happens

    async def test_set_worker_graceful(self):
        await self.insert_workers()
        await self.db.workers.set_worker_graceful(30, True)
        self.assertEqual(await self.db.workers.getWorker(30), self.w30(graceful=True))
        await self.db.workers.set_worker_graceful(31, False)
        self.assertEqual(await self.db.workers.getWorker(31), self.w31(graceful=False))

    async def test_setWorkerState(self):
        await self.insert_workers()
        await self.db.workers.setWorkerState(30, True, True)
        self.assertEqual(await self.db.workers.getWorker(30), self.w30(paused=True, graceful=True))
        await self.db.workers.setWorkerState(31, False, False)
        self.assertEqual(
            await self.db.workers.getWorker(31),
            self.w31(paused=False, pause_reason=None, graceful=False),
        )


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
