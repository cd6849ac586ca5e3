"""Builders, workers, buildsets, build requests, builds, steps, logs and build properties:
endpoints and update methods, with the MQ events each update emits."""

from twisted.internet import defer

from buildbot.data import exceptions
from buildbot.data.exceptions import InvalidControlException
from buildbot.data.resultspec import Filter
from buildbot.mq import simple
from buildbot.process.results import CANCELLED, FAILURE, SUCCESS
from buildbot.test import fakedb
from buildbot.test.util import dataapi
from buildbot.util import epoch2datetime
from buildbot.util.eventual import flushEventualQueue

NOW = dataapi.NOW
MASTERID = 824  # the fake master's id


def keys(mq):
    got = ["/".join(k) for k, _ in mq.productions]
    mq.productions = []
    return got


class Tests(dataapi.DataMixin):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Project(id=3, name="proj"),
                fakedb.Builder(id=5, name="b5", projectid=3, description="d"),
                fakedb.Builder(id=6, name="b6"),
                fakedb.BuilderMaster(id=50, builderid=5, masterid=MASTERID),
                fakedb.Worker(id=1, name="w1", info='{"host": "h", "other": 1}'),
                fakedb.ConfiguredWorker(buildermasterid=50, workerid=1),
                fakedb.SourceStamp(id=20, branch="main", revision="abc"),
            ]
        )

    # --- builders ---

    async def test_builder_entity(self):
        expected = {
            "builderid": 5,
            "name": "b5",
            "masterids": [MASTERID],
            "description": "d",
            "description_format": None,
            "description_html": None,
            "projectid": 3,
            "tags": [],
        }
        self.assertEqual(await self.data.get(("builders", 5)), expected)
        self.assertEqual(await self.data.get(("builders", "b5")), expected)
        self.assertEqual(await self.data.get(("masters", MASTERID, "builders", 5)), expected)
        self.assertIsNone(await self.data.get(("masters", MASTERID, "builders", 6)))
        self.assertIsNone(await self.data.get(("builders", "nope")))

    async def test_builders_collections(self):
        async def ids(path):
            return [b["builderid"] for b in await self.data.get(path)]

        self.assertEqual(await ids(("builders",)), [5, 6])
        self.assertEqual(await ids(("masters", MASTERID, "builders")), [5])
        self.assertEqual(await ids(("projects", 3, "builders")), [5])
        self.assertEqual(await ids(("workers", 1, "builders")), [5])

    async def test_findBuilderId_is_remembered(self):
        up = self.data.updates
        builderid = await up.findBuilderId("brand-new")
        self.assertEqual(await up.findBuilderId("b5"), 5)

        def no_more_db(*args, **kwargs):
            raise AssertionError("findBuilderId asked the DB again")

        self.patch(self.master.db.builders, "findBuilderId", no_more_db)
        self.assertEqual(await up.findBuilderId("brand-new"), builderid)
        self.assertEqual(await up.findBuilderId("b5"), 5)

    async def test_updateBuilderInfo_and_list(self):
        await self.data.updates.updateBuilderInfo(6, "desc", "markdown", "<p>desc</p>", 3, ["t"])
        [(key, msg)] = self.mq.productions
        self.assertEqual(key, ("builders", "6", "update"))
        self.assertEqual((msg["tags"], msg["projectid"], msg["description"]), (["t"], 3, "desc"))
        self.mq.productions = []
        await self.data.updates.updateBuilderList(MASTERID, ["b6", "new"])
        newid = (await self.data.get(("builders", "new")))["builderid"]
        self.assertProductions(
            [
                (
                    ("builders", "5", "stopped"),
                    {"builderid": 5, "masterid": MASTERID, "name": "b5"},
                ),
                (
                    ("builders", "6", "started"),
                    {"builderid": 6, "masterid": MASTERID, "name": "b6"},
                ),
                (
                    ("builders", str(newid), "started"),
                    {"builderid": newid, "masterid": MASTERID, "name": "new"},
                ),
            ]
        )

    # --- workers ---

    async def test_worker_entity(self):
        expected = {
            "workerid": 1,
            "name": "w1",
            "workerinfo": {"admin": None, "host": "h", "access_uri": None, "version": None},
            "paused": False,
            "pause_reason": None,
            "graceful": False,
            "connected_to": [],
            "configured_on": [{"masterid": MASTERID, "builderid": 5}],
        }
        self.assertEqual(await self.data.get(("workers", 1)), expected)
        self.assertEqual(await self.data.get(("workers", "w1")), expected)
        self.assertEqual(await self.data.get(("builders", 5, "workers", "w1")), expected)
        self.assertIsNone(await self.data.get(("builders", 6, "workers", 1)))
        self.assertEqual(
            len(await self.data.get(("masters", MASTERID, "builders", 5, "workers"))), 1
        )

    async def test_worker_updates_and_events(self):
        up = self.data.updates
        await up.workerConnected(workerid=1, masterid=MASTERID, workerinfo={"admin": "me"})
        [(key, msg)] = self.mq.productions
        self.assertEqual(key, ("workers", "1", "connected"))
        self.assertEqual(msg["connected_to"], [{"masterid": MASTERID}])
        self.assertEqual(msg["workerinfo"]["admin"], "me")
        self.mq.productions = []
        await up.set_worker_paused(1, True, "why")
        w = await self.data.get(("workers",), filters=[Filter("paused", "eq", [True])])
        self.assertEqual([(x["workerid"], x["pause_reason"]) for x in w], [(1, "why")])
        await up.set_worker_graceful(1, True)
        await up.workerDisconnected(workerid=1, masterid=MASTERID)
        self.assertEqual(
            keys(self.mq),
            ["workers/1/state_updated", "workers/1/state_updated", "workers/1/disconnected"],
        )
        await up.workerMissing(1, MASTERID, "Mon Jan  1 00:00:00 2024", ["a@b"])
        [(key, msg)] = self.mq.productions
        self.assertEqual(key, ("workers", "1", "missing"))
        self.assertEqual(
            (msg["last_connection"], msg["notify"]), ("Mon Jan  1 00:00:00 2024", ["a@b"])
        )

    async def test_worker_control(self):
        await self.data.control("pause", {"reason": "r"}, ("workers", "w1"))
        self.assertProductions([(("control", "worker", "1", "pause"), {"reason": "r"})])
        with self.assertRaises(InvalidControlException):
            await self.data.control("explode", {}, ("workers", 1))

    # --- buildsets and build requests ---

    async def add_buildset(self, builderids=(5, 6)):
        return await self.data.updates.addBuildset(
            waited_for=False,
            scheduler="sched",
            sourcestamps=[20],
            reason="because",
            properties={"p": (1, "test")},
            builderids=list(builderids),
        )

    async def test_addBuildset(self):
        bsid, brids = await self.add_buildset()
        self.assertEqual(sorted(brids), [5, 6])
        br5 = brids[5]
        self.assertEqual(
            keys(self.mq)[:3],
            [
                f"buildsets/{bsid}/builders/5/buildrequests/{br5}/new",
                f"buildrequests/{br5}/new",
                f"builders/5/buildrequests/{br5}/new",
            ],
        )
        bs = await self.data.get(("buildsets", bsid))
        ss = await self.data.get(("sourcestamps", 20))
        self.assertEqual(
            bs,
            {
                "bsid": bsid,
                "external_idstring": None,
                "reason": "because",
                "submitted_at": NOW,
                "complete": False,
                "complete_at": None,
                "results": -1,
                "parent_buildid": None,
                "parent_relationship": None,
                "rebuilt_buildid": None,
                "sourcestamps": [ss],
            },
        )
        br = await self.data.get(("buildrequests", br5))
        self.assertEqual(
            br,
            {
                "buildrequestid": br5,
                "buildsetid": bsid,
                "builderid": 5,
                "priority": 0,
                "claimed": False,
                "claimed_at": None,
                "claimed_by_masterid": None,
                "complete": False,
                "results": -1,
                "submitted_at": epoch2datetime(NOW),
                "complete_at": None,
                "waited_for": False,
                "properties": None,
            },
        )
        with_props = await self.data.get(("buildrequests", br5), properties=["*"])
        self.assertEqual(with_props["properties"], {"p": (1, "test")})
        self.assertEqual(await self.data.get(("buildsets", bsid, "properties")), {"p": (1, "test")})
        self.assertEqual(
            list(await self.data.get(("buildsets", bsid, "properties_list"))),
            [{"name": "p", "source": "test", "value": "1"}],
        )

    async def test_addBuildset_request_events_are_the_rows(self):
        bsid, brids = await self.add_buildset()
        msgs = {key: msg for key, msg in self.mq.productions if key[0] == "buildrequests"}
        self.assertEqual(len(msgs), 2)
        for brid in brids.values():
            msg = msgs[("buildrequests", str(brid), "new")]
            self.assertEqual(msg, await self.data.get(("buildrequests", brid)))

    async def test_addBuildset_new_event_body(self):
        bsid, _ = await self.add_buildset()
        (key, msg) = self.mq.productions[-1]
        self.assertEqual(key, ("buildsets", str(bsid), "new"))
        self.assertEqual(msg["scheduler"], "sched")
        self.assertEqual((msg["complete"], msg["results"]), (False, None))
        self.assertNotIn("parent_relationship", msg)

    async def test_buildset_without_builders_completes_at_once(self):
        bsid, brids = await self.add_buildset(builderids=[])
        self.assertEqual(brids, {})
        self.assertEqual(keys(self.mq), [f"buildsets/{bsid}/new", f"buildsets/{bsid}/complete"])
        bs = await self.data.get(("buildsets", bsid))
        self.assertEqual((bs["complete"], bs["results"], bs["complete_at"]), (True, SUCCESS, NOW))

    async def test_claim_complete_and_buildset_completion(self):
        bsid, brids = await self.add_buildset()
        self.mq.productions = []
        up = self.data.updates
        self.assertTrue(await up.claimBuildRequests([brids[5], brids[6]]))
        self.assertFalse(await up.claimBuildRequests([brids[5]]))
        claimed = await self.data.get(("buildrequests",), filters=[Filter("claimed", "eq", [True])])
        self.assertEqual(len(claimed), 2)
        self.assertEqual(claimed[0]["claimed_by_masterid"], MASTERID)
        self.assertEqual(len(keys(self.mq)), 6)
        self.assertTrue(await up.completeBuildRequests([brids[5]], SUCCESS))
        self.assertEqual(len(keys(self.mq)), 3)  # no buildset completion yet
        self.assertTrue(await up.completeBuildRequests([brids[6]], FAILURE))
        got = keys(self.mq)
        self.assertEqual(got[-1], f"buildsets/{bsid}/complete")
        self.assertEqual((await self.data.get(("buildsets", bsid)))["results"], FAILURE)
        done = await self.data.get(("buildsets",), filters=[Filter("complete", "eq", [True])])
        self.assertEqual([b["bsid"] for b in done], [bsid])

    async def test_unclaim(self):
        _, brids = await self.add_buildset(builderids=[5])
        await self.data.updates.claimBuildRequests([brids[5]])
        self.mq.productions = []
        await self.data.updates.unclaimBuildRequests([brids[5]])
        self.assertEqual(keys(self.mq)[1], f"buildrequests/{brids[5]}/unclaimed")
        self.assertFalse((await self.data.get(("buildrequests", brids[5])))["claimed"])

    async def test_cancel_unclaimed_request(self):
        bsid, brids = await self.add_buildset(builderids=[5])
        self.mq.productions = []
        await self.data.control("cancel", {"reason": "no"}, ("buildrequests", brids[5]))
        got = self.mq.productions
        self.assertEqual(
            got[0], (("control", "buildrequests", str(brids[5]), "cancel"), {"reason": "no"})
        )
        self.assertIn((("buildrequests", str(brids[5]), "cancel"), None), got)
        br = await self.data.get(("buildrequests", brids[5]))
        self.assertEqual((br["complete"], br["results"]), (True, CANCELLED))

    async def test_set_priority(self):
        _, brids = await self.add_buildset(builderids=[5])
        await self.data.control("set_priority", {"priority": 7}, ("buildrequests", brids[5]))
        self.assertEqual((await self.data.get(("buildrequests", brids[5])))["priority"], 7)

    # --- builds, properties, steps and logs ---

    async def start_build(self):
        _, brids = await self.add_buildset(builderids=[5])
        await self.data.updates.claimBuildRequests([brids[5]])
        buildid, number = await self.data.updates.addBuild(5, brids[5], 1)
        self.mq.productions = []
        return buildid, number, brids[5]

    async def test_build_lifecycle(self):
        buildid, number, brid = await self.start_build()
        self.assertEqual(number, 1)
        up = self.data.updates
        await up.generateNewBuildEvent(buildid)
        build = {
            "buildid": buildid,
            "number": 1,
            "builderid": 5,
            "buildrequestid": brid,
            "workerid": 1,
            "masterid": MASTERID,
            "started_at": epoch2datetime(NOW),
            "complete_at": None,
            "complete": False,
            "locks_duration_s": 0,
            "results": None,
            "state_string": "created",
            "properties": {},
        }
        self.assertProductions(
            [
                (("builders", "5", "builds", "1", "new"), build),
                (("builds", str(buildid), "new"), build),
                (("workers", "1", "builds", str(buildid), "new"), build),
            ]
        )
        self.assertEqual(await self.data.get(("builders", "b5", "builds", 1)), build)
        await up.setBuildStateString(buildid, "building")
        await up.add_build_locks_duration(buildid, 3)
        await up.finishBuild(buildid, SUCCESS)
        self.assertEqual(
            keys(self.mq)[::3],
            [
                "builders/5/builds/1/update",
                "builders/5/builds/1/update",
                "builders/5/builds/1/finished",
            ],
        )
        b = await self.data.get(("builds", buildid))
        self.assertEqual(
            (b["state_string"], b["locks_duration_s"], b["complete"], b["results"]),
            ("building", 3, True, SUCCESS),
        )

    async def test_builds_collections(self):
        buildid, _, brid = await self.start_build()
        for path in [
            ("builds",),
            ("builders", 5, "builds"),
            ("builders", "b5", "builds"),
            ("buildrequests", brid, "builds"),
            ("workers", 1, "builds"),
        ]:
            self.assertEqual([b["buildid"] for b in await self.data.get(path)], [buildid], path)
        self.assertEqual(list(await self.data.get(("builders", "nope", "builds"))), [])
        done = await self.data.get(("builds",), filters=[Filter("complete", "eq", [True])])
        self.assertEqual(list(done), [])

    async def test_build_properties(self):
        buildid, _, _ = await self.start_build()
        up = self.data.updates
        await up.setBuildProperty(buildid, "a", 1, "src")
        self.assertProductions(
            [(("builds", str(buildid), "properties", "update"), {"a": (1, "src")})]
        )
        await up.setBuildProperties(buildid, {"a": (1, "src"), "b": ("x", "s2")})
        self.assertProductions(
            [(("builds", str(buildid), "properties", "update"), {"b": ("x", "s2")})]
        )
        self.assertEqual(
            await self.data.get(("builds", buildid, "properties")),
            {"a": (1, "src"), "b": ("x", "s2")},
        )
        self.assertEqual(
            (await self.data.get(("builds", buildid), properties=["b"]))["properties"],
            {"b": ("x", "s2")},
        )
        plist = await self.data.get(("builds", buildid, "property_list"))
        self.assertEqual(sorted(p["value"] for p in plist), ['"x"', "1"])

    async def test_build_control(self):
        buildid, _, _ = await self.start_build()
        await self.data.control("stop", {"reason": "r"}, ("builds", buildid))
        self.assertProductions([(("control", "builds", str(buildid), "stop"), {"reason": "r"})])
        bsid, brids = await self.data.control("rebuild", {}, ("builds", buildid))
        bs = await self.data.get(("buildsets", bsid))
        self.assertEqual((bs["reason"], bs["rebuilt_buildid"]), ("rebuild", buildid))
        self.assertEqual(list(brids), [5])

    async def test_events_nobody_consumes_are_not_built(self):
        buildid, _, _ = await self.start_build()
        mq = simple.SimpleMQ()
        self.master.mq = mq
        got = []
        await mq.startConsuming(
            lambda k, d: got.append(("/".join(k), d)), ("steps", None, "finished")
        )
        reads = []
        get_step = self.master.db.steps.getStep
        self.patch(
            self.master.db.steps, "getStep", lambda *a, **kw: reads.append(a) or get_step(*a, **kw)
        )
        up = self.data.updates
        stepid, _, _ = await up.addStep(buildid, "compile")
        await up.startStep(stepid)
        await up.setStepStateString(stepid, "compiling")
        self.assertEqual(reads, [])  # no one listens to new/started/updated
        await up.finishStep(stepid, SUCCESS, False, state_string="compiled")
        await flushEventualQueue()
        self.assertEqual(len(reads), 1)
        self.assertEqual([k for k, _ in got], [f"steps/{stepid}/finished"])
        self.assertEqual((got[0][1]["results"], got[0][1]["state_string"]), (SUCCESS, "compiled"))

    async def test_update_methods_return_deferreds(self):
        # also those written as coroutines: callers chain on them (addErrback...)
        buildid, _, _ = await self.start_build()
        d = self.data.updates.setBuildStateString(buildid, "waiting")
        self.assertIsInstance(d, defer.Deferred)
        await d
        self.assertEqual((await self.data.get(("builds", buildid)))["state_string"], "waiting")

    async def test_two_events_of_one_write_read_the_row_once(self):
        buildid, _, _ = await self.start_build()
        mq = simple.SimpleMQ()
        self.master.mq = mq
        got = []
        await mq.startConsuming(lambda k, d: got.append("/".join(k)), ("steps", None, None))
        reads = []
        get_step = self.master.db.steps.getStep
        self.patch(
            self.master.db.steps,
            "getStep",
            lambda *a, **kw: reads.append(a) or get_step(*a, **kw),
        )
        stepid, _, _ = await self.data.updates.addStep(buildid, "compile", start=True)
        await flushEventualQueue()
        self.assertEqual(got, [f"steps/{stepid}/new", f"steps/{stepid}/started"])
        self.assertEqual(len(reads), 1)

    async def test_steps_and_logs(self):
        buildid, _, _ = await self.start_build()
        up = self.data.updates
        stepid, number, name = await up.addStep(buildid, "compile")
        self.assertEqual((number, name), (0, "compile"))
        await up.startStep(stepid)
        await up.setStepStateString(stepid, "compiling")
        await up.addStepURL(stepid, "doc", "http://x")
        logid = await up.addLog(stepid, "std io", "s")
        await up.appendLog(logid, "ohello\noworld\n")
        await up.finishLog(logid)
        await up.finishStep(stepid, SUCCESS, False)
        self.assertEqual(
            keys(self.mq),
            [
                f"builds/{buildid}/steps/{stepid}/new",
                f"steps/{stepid}/new",
                f"builds/{buildid}/steps/{stepid}/started",
                f"steps/{stepid}/started",
                f"builds/{buildid}/steps/{stepid}/updated",
                f"steps/{stepid}/updated",
                f"builds/{buildid}/steps/{stepid}/updated",
                f"steps/{stepid}/updated",
                f"logs/{logid}/new",
                f"steps/{stepid}/logs/std_io/new",
                f"logs/{logid}/append",
                f"steps/{stepid}/logs/std_io/append",
                f"logs/{logid}/finished",
                f"steps/{stepid}/logs/std_io/finished",
                f"builds/{buildid}/steps/{stepid}/finished",
                f"steps/{stepid}/finished",
            ],
        )
        step = await self.data.get(("builds", buildid, "steps", "compile"))
        self.assertEqual(
            step,
            {
                "stepid": stepid,
                "number": 0,
                "name": "compile",
                "buildid": buildid,
                "started_at": epoch2datetime(NOW),
                "locks_acquired_at": None,
                "complete": True,
                "complete_at": epoch2datetime(NOW),
                "results": SUCCESS,
                "state_string": "compiling",
                "urls": [{"name": "doc", "url": "http://x"}],
                "hidden": False,
            },
        )
        self.assertEqual(await self.data.get(("builders", 5, "builds", 1, "steps", 0)), step)
        self.assertEqual(
            [s["stepid"] for s in await self.data.get(("builds", buildid, "steps"))], [stepid]
        )
        log = {
            "logid": logid,
            "name": "std io",
            "slug": "std_io",
            "stepid": stepid,
            "complete": True,
            "num_lines": 2,
            "type": "s",
        }
        self.assertEqual(await self.data.get(("logs", logid)), log)
        self.assertEqual(await self.data.get(("steps", stepid, "logs", "std_io")), log)
        self.assertEqual(
            await self.data.get(
                ("builders", "b5", "builds", 1, "steps", "compile", "logs", "std_io")
            ),
            log,
        )
        self.assertEqual(list(await self.data.get(("builds", buildid, "steps", 0, "logs"))), [log])
        # contents: offset = first line, limit = line count
        self.assertEqual(
            await self.data.get(("logs", logid, "contents")),
            {"logid": logid, "firstline": 0, "content": "ohello\noworld\n"},
        )
        self.assertEqual(
            (await self.data.get(("logs", logid, "contents"), offset=1, limit=1))["content"],
            "oworld\n",
        )
        self.assertIsNone(await self.data.get(("logs", logid, "contents"), offset=2))
        self.assertEqual(
            (await self.data.get(("logs", logid, "contents"), offset=5, limit=2))["content"], ""
        )
        self.assertIsNone(await self.data.get(("logchunks",)))
        raw = await self.data.get(("logs", logid, "raw"))
        pieces = [piece async for piece in raw["raw"]]
        self.assertEqual(
            "".join(pieces), "Builder: b5\nBuild number: 1\nWorker name: w1\nhello\nworld\n"
        )
        self.assertEqual(raw["filename"], "b5_build_1_step_compile_log_std_io")
        self.assertNotIn("filename", await self.data.get(("logs", logid, "raw_inline")))
        # contents and raw downloads are served by builder id, not by builder name
        by_id = await self.data.get(("builders", 5, "builds", 1, "steps", 0, "logs", "std_io"))
        self.assertEqual(by_id["logid"], logid)
        self.assertIsNotNone(
            await self.data.get(("builders", 5, "builds", 1, "steps", 0, "logs", "std_io", "raw"))
        )
        for leaf in ("contents", "raw", "raw_inline"):
            with self.assertRaises(exceptions.InvalidPathError):
                await self.data.get(
                    ("builders", "b5", "builds", 1, "steps", 0, "logs", "std_io", leaf)
                )


(
    TestFake,
    TestSQLite,
    TestPostgreSQL,
    TestMySQL,
    TestFakeData,
    TestFakeDataSQLite,
) = dataapi.data_test_cases(Tests)
