"""Masters: endpoints and the masterActive/masterStopped/expireMasters updates."""

from buildbot.process.results import RETRY
from buildbot.test import fakedb
from buildbot.test.util import dataapi
from buildbot.util import epoch2datetime

NOW = dataapi.NOW


class Tests(dataapi.DataMixin):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=13, name="m13", active=1, last_active=NOW - 10),
                fakedb.Master(id=14, name="m14", active=0, last_active=NOW - 100),
                fakedb.Builder(id=5, name="b5"),
                fakedb.BuilderMaster(builderid=5, masterid=13),
            ]
        )

    async def test_get_master(self):
        self.assertEqual(
            await self.data.get(("masters", 13)),
            {
                "masterid": 13,
                "name": "m13",
                "active": True,
                "last_active": epoch2datetime(NOW - 10),
            },
        )
        self.assertIsNone(await self.data.get(("masters", 99)))

    async def test_get_master_of_builder(self):
        self.assertEqual((await self.data.get(("builders", 5, "masters", 13)))["masterid"], 13)
        self.assertIsNone(await self.data.get(("builders", 5, "masters", 14)))
        self.assertIsNone(await self.data.get(("builders", 6, "masters", 13)))

    async def test_get_masters(self):
        masters = await self.data.get(("masters",))
        self.assertEqual([m["masterid"] for m in masters], [13, 14])
        self.assertEqual(masters.total, 2)
        self.assertEqual(
            [m["masterid"] for m in await self.data.get(("builders", 5, "masters"))], [13]
        )
        self.assertEqual(list(await self.data.get(("builders", 6, "masters"))), [])

    async def test_get_masters_filtered(self):
        from buildbot.data.resultspec import Filter

        masters = await self.data.get(("masters",), filters=[Filter("active", "eq", [False])])
        self.assertEqual([m["name"] for m in masters], ["m14"])

    async def test_masterActive_announces_a_newly_active_master(self):
        await self.data.updates.masterActive(name="m14", masterid=14)
        self.assertProductions(
            [(("masters", "14", "started"), {"masterid": 14, "name": "m14", "active": True})]
        )
        m = await self.data.get(("masters", 14))
        self.assertEqual((m["active"], m["last_active"]), (True, epoch2datetime(NOW)))

    async def test_masterActive_already_active_is_quiet(self):
        await self.data.updates.masterActive(name="m13", masterid=13)
        self.assertProductions([])

    async def test_masterStopped(self):
        await self.data.updates.masterStopped(name="m13", masterid=13)
        self.assertProductions(
            [(("masters", "13", "stopped"), {"masterid": 13, "name": "m13", "active": False})]
        )
        self.assertFalse((await self.data.get(("masters", 13)))["active"])
        await self.data.updates.masterStopped(name="m13", masterid=13)
        self.assertProductions([])

    async def test_masterStopped_ends_its_builds(self):
        await self.insert_test_data(
            [
                fakedb.Worker(id=1, name="w"),
                fakedb.Buildset(id=2),
                fakedb.BuildRequest(id=3, buildsetid=2, builderid=5),
                fakedb.BuildRequestClaim(brid=3, masterid=13, claimed_at=NOW - 5),
                fakedb.Build(
                    id=4, number=1, builderid=5, buildrequestid=3, workerid=1, masterid=13
                ),
                fakedb.Step(id=6, buildid=4, number=0, name="s", started_at=NOW - 4),
                fakedb.Log(id=7, stepid=6, name="stdio", slug="stdio"),
            ]
        )
        await self.data.updates.masterStopped(name="m13", masterid=13)
        build = await self.data.get(("builds", 4))
        self.assertEqual((build["complete"], build["results"]), (True, RETRY))
        step = await self.data.get(("steps", 6))
        self.assertEqual((step["complete"], step["results"]), (True, RETRY))
        self.assertTrue((await self.data.get(("logs", 7)))["complete"])
        br = await self.data.get(("buildrequests", 3))
        self.assertEqual((br["claimed"], br["complete"]), (False, False))
        keys = ["/".join(k) for k, _ in self.mq.productions]
        self.assertEqual(
            keys,
            [
                "logs/7/finished",
                "steps/6/logs/stdio/finished",
                "builds/4/steps/6/finished",
                "steps/6/finished",
                "builders/5/builds/1/finished",
                "builds/4/finished",
                "workers/1/builds/4/finished",
                "buildsets/2/builders/5/buildrequests/3/unclaimed",
                "buildrequests/3/unclaimed",
                "builders/5/buildrequests/3/unclaimed",
                "masters/13/stopped",
            ],
        )

    async def test_expireMasters(self):
        await self.insert_test_data(
            [fakedb.Master(id=15, name="m15", active=1, last_active=NOW - 601)]
        )
        await self.data.updates.expireMasters()
        self.assertProductions(
            [(("masters", "15", "stopped"), {"masterid": 15, "name": "m15", "active": False})]
        )
        self.assertTrue((await self.data.get(("masters", 13)))["active"])


(
    TestFake,
    TestSQLite,
    TestPostgreSQL,
    TestMySQL,
    TestFakeData,
    TestFakeDataSQLite,
) = dataapi.data_test_cases(Tests)
