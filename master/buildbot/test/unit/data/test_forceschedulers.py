"""The forcescheduler resource type: reads from the configured schedulers, and the
`force` control, on the real and the fake data API."""

import json

from buildbot.data.forceschedulers import ForceSchedulerNotFound
from buildbot.schedulers.base import BaseScheduler, DisabledSchedulerError
from buildbot.schedulers.forcesched import BuilderSelectionError, ForceScheduler
from buildbot.test import fakedb
from buildbot.test.util import dataapi
from buildbot.util import eventual, service

MASTERID = 824


class Tests(dataapi.DataMixin):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=1, name="a"),
                fakedb.Builder(id=2, name="b"),
                fakedb.Builder(id=3, name="c"),
            ]
        )
        manager = service.BuildbotServiceManager()
        manager.name = "scheduler_manager"
        manager.config_attr = "schedulers"
        await manager.setServiceParent(self.master)
        self.master.scheduler_manager = manager
        self.ab = ForceScheduler("ab", ["a", "b"], buttonName="Go")
        self.bc = ForceScheduler("bc", ["b", "c"], label="B and C")
        for s in (self.ab, BaseScheduler("plain", ["a"]), self.bc):
            await s.setServiceParent(manager)

    async def test_collection(self):
        got = await self.data.get(("forceschedulers",))
        self.assertEqual([s["name"] for s in got], ["ab", "bc"])
        ab = got[0]
        self.assertEqual(
            {k: v for k, v in ab.items() if k != "all_fields"},
            {
                "name": "ab",
                "button_name": "Go",
                "label": "ab",
                "builder_names": ["a", "b"],
                "enabled": True,
            },
        )
        self.assertEqual(ab["all_fields"], self.ab.getAllFieldsSpec())
        self.assertEqual(got[1]["label"], "B and C")
        # the whole entity is JSON
        json.dumps(list(got))

    async def test_single(self):
        bc = await self.data.get(("forceschedulers", "bc"))
        self.assertEqual(bc["builder_names"], ["b", "c"])
        self.assertIsNone(await self.data.get(("forceschedulers", "nope")))
        # a scheduler that is not a force scheduler is not one here
        self.assertIsNone(await self.data.get(("forceschedulers", "plain")))

    async def test_by_builder(self):
        got = await self.data.get(("builders", 2, "forceschedulers"))
        self.assertEqual([s["name"] for s in got], ["ab", "bc"])
        got = await self.data.get(("builders", "3", "forceschedulers"))
        self.assertEqual([s["name"] for s in got], ["bc"])
        self.assertEqual(list(await self.data.get(("builders", 99, "forceschedulers"))), [])
        self.assertEqual(list(await self.data.get(("builders", "a", "forceschedulers"))), [])

    async def test_filter_and_fields(self):
        got = await self.data.get(
            ("forceschedulers",), fields=["name"], filters=[_filter("name", "eq", ["bc"])]
        )
        self.assertEqual(list(got), [{"name": "bc"}])

    async def test_force_control(self):
        result = await self.data.control(
            "force", {"owner": "me", "builderid": "2", "reason": "r"}, ("forceschedulers", "ab")
        )
        bsid, brids = result
        self.assertEqual(list(brids), [2])
        bs = await self.data.get(("buildsets", bsid))
        self.assertEqual(bs["reason"], "A build was forced by 'me': r")
        # the JSON-RPC result: object keys are strings
        self.assertEqual(json.loads(json.dumps(result)), [bsid, {"2": brids[2]}])
        props = await self.db.buildsets.getBuildsetProperties(bsid)
        self.assertEqual(props["owner"], ("me", "Force Build Form"))
        self.assertEqual(props["scheduler"], ("ab", "Scheduler"))
        new = [m for k, m in self.mq.productions if k == ("buildsets", str(bsid), "new")]
        self.assertEqual([m["scheduler"] for m in new], ["ab"])

    async def test_force_all_builders_without_owner(self):
        bsid, brids = await self.data.control("force", {}, ("forceschedulers", "bc"))
        self.assertEqual(sorted(brids), [2, 3])
        props = await self.db.buildsets.getBuildsetProperties(bsid)
        self.assertEqual(props["owner"], ("anonymous", "Force Build Form"))

    async def test_force_errors(self):
        with self.assertRaises(ForceSchedulerNotFound) as cm:
            await self.data.control("force", {}, ("forceschedulers", "nope"))
        self.assertIsInstance(cm.exception, AttributeError)
        self.assertEqual(
            repr(cm.exception), "AttributeError(\"'NoneType' object has no attribute 'force'\")"
        )
        with self.assertRaises(KeyError) as cm:
            await self.data.control("force", {"builderNames": ["c"]}, ("forceschedulers", "ab"))
        self.assertNotIsInstance(cm.exception, BuilderSelectionError)
        self.assertEqual(
            repr(cm.exception), "KeyError('builderNames not specified or not supported')"
        )
        self.assertEqual(list(await self.data.get(("buildsets",))), [])

    async def test_other_actions_answer_none(self):
        self.assertIsNone(await self.data.control("stop", {}, ("forceschedulers", "ab")))
        self.assertIsNone(await self.data.control("stop", {}, ("forceschedulers", "nope")))

    async def test_enable_control_reaches_the_scheduler(self):
        # started schedulers follow the schedulers' enable control
        await self.master.scheduler_manager.startService()
        self.addCleanup(self.master.scheduler_manager.stopService)
        await self.ab._activityPoll()
        await self.data.control("enable", {"enabled": False}, ("schedulers", self.ab.serviceid))
        await eventual.flushEventualQueue()
        self.assertFalse((await self.data.get(("forceschedulers", "ab")))["enabled"])
        with self.assertRaises(DisabledSchedulerError):
            await self.data.control("force", {"owner": "me"}, ("forceschedulers", "ab"))
        await self.data.control("enable", {"enabled": True}, ("schedulers", self.ab.serviceid))
        await eventual.flushEventualQueue()
        bsid, _ = await self.data.control("force", {"owner": "me"}, ("forceschedulers", "ab"))
        self.assertIsNotNone(await self.data.get(("buildsets", bsid)))

    def test_no_scheduler_manager(self):
        from buildbot.data.forceschedulers import force_schedulers

        self.master.scheduler_manager = None
        self.assertEqual(force_schedulers(self.master), [])


def _filter(field, op, values):
    from buildbot.data.resultspec import Filter

    return Filter(field, op, values)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL, TestFakeData, TestFakeDataSQLite = (
    dataapi.data_test_cases(Tests)
)
