"""Changes, sourcestamps, change sources, schedulers, projects, build data and test
results; the connector itself and the fake's call records."""

from types import SimpleNamespace

from buildbot.data.connector import DataConnector
from buildbot.data.exceptions import InvalidControlException, InvalidPathError
from buildbot.data.resultspec import Filter
from buildbot.test import fakedb
from buildbot.test.fake.fakedata import FakeDataConnector
from buildbot.test.util import dataapi
from buildbot.util import epoch2datetime

NOW = dataapi.NOW
MASTERID = 824


class Tests(dataapi.DataMixin):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=5, name="b5"),
                fakedb.BuilderMaster(builderid=5, masterid=MASTERID),
                fakedb.Project(id=3, name="proj", slug="proj"),
                fakedb.Project(id=4, name="idle", slug="idle"),
                fakedb.Worker(id=1, name="w1"),
                fakedb.Buildset(id=10),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
                fakedb.Build(
                    id=12, number=1, builderid=5, buildrequestid=11, workerid=1, masterid=MASTERID
                ),
                fakedb.Step(id=13, buildid=12, number=0, name="s"),
            ]
        )

    async def test_addChange(self):
        changeid = await self.data.updates.addChange(
            author="me",
            files=["a.c"],
            comments="fix",
            revision="r1",
            when_timestamp=NOW - 5,
            branch="main",
            properties={"k": "v"},
            repository="repo",
            project="p",
        )
        [(key, msg)] = self.mq.productions
        self.assertEqual(key, ("changes", str(changeid), "new"))
        change = await self.data.get(("changes", changeid))
        self.assertEqual(msg, change)
        ss = change.pop("sourcestamp")
        self.assertEqual(
            change,
            {
                "changeid": changeid,
                "author": "me",
                "committer": None,
                "files": ["a.c"],
                "comments": "fix",
                "revision": "r1",
                "when_timestamp": NOW - 5,
                "branch": "main",
                "category": None,
                "revlink": "",
                "properties": {"k": ("v", "Change")},
                "repository": "repo",
                "project": "p",
                "codebase": "",
                "parent_changeids": [],
            },
        )
        self.assertEqual((ss["branch"], ss["revision"], ss["repository"]), ("main", "r1", "repo"))
        self.assertEqual(ss["created_at"], epoch2datetime(NOW))
        by_ss = await self.data.get(("sourcestamps", ss["ssid"], "changes"))
        self.assertEqual([c["changeid"] for c in by_ss], [changeid])
        plist = await self.data.get(("changes", changeid, "properties_list"))
        self.assertEqual(list(plist), [{"name": "k", "source": "Change", "value": '"v"'}])
        self.assertEqual(list(await self.data.get(("changes", 999, "properties_list"))), [])

    async def test_addChange_revlink_from_config(self):
        self.master.config = SimpleNamespace(
            revlink=lambda rev, repo: f"{repo}/commit/{rev}",
            codebaseGenerator=None,
            changeHorizon=None,
        )
        made = await self.data.updates.addChange(
            author="a", revision="r1", repository="https://h/r"
        )
        given = await self.data.updates.addChange(
            author="a", revision="r2", repository="https://h/r", revlink="https://elsewhere"
        )
        no_rev = await self.data.updates.addChange(author="a", repository="https://h/r")
        links = [(await self.data.get(("changes", i)))["revlink"] for i in (made, given, no_rev)]
        self.assertEqual(links, ["https://h/r/commit/r1", "https://elsewhere", ""])

    async def test_addChange_codebase_generator(self):
        seen = []

        def generator(chdict):
            seen.append(chdict)
            return chdict["repository"].rsplit("/", 1)[-1]

        self.master.config = SimpleNamespace(
            revlink=None, codebaseGenerator=generator, changeHorizon=None
        )
        changeid = await self.data.updates.addChange(author="a", repository="https://h/lib")
        explicit = await self.data.updates.addChange(
            author="a", repository="https://h/lib", codebase="given"
        )
        self.assertEqual((await self.data.get(("changes", changeid)))["codebase"], "lib")
        self.assertEqual((await self.data.get(("changes", explicit)))["codebase"], "given")
        self.assertEqual(len(seen), 1)

    async def test_addChange_prunes_beyond_changeHorizon(self):
        self.master.config = SimpleNamespace(revlink=None, codebaseGenerator=None, changeHorizon=2)
        ids = [await self.data.updates.addChange(author="a", comments=str(i)) for i in range(4)]
        kept = await self.data.get(("changes",))
        self.assertEqual([c["changeid"] for c in kept], ids[-2:])

    async def test_changes_paging(self):
        ids = [await self.data.updates.addChange(author="a", comments=str(i)) for i in range(3)]
        page = await self.data.get(("changes",), limit=2, offset=1)
        self.assertEqual([c["changeid"] for c in page], ids[1:])
        page = await self.data.get(("changes",), order=["-changeid"], limit=1)
        self.assertEqual([c["changeid"] for c in page], ids[-1:])

    async def test_sourcestamps(self):
        await self.insert_test_data(
            [
                fakedb.Patch(
                    id=1,
                    patchlevel=1,
                    patch_base64="aGVsbG8=",
                    patch_author="a",
                    patch_comment="c",
                    subdir="d",
                ),
                fakedb.SourceStamp(id=20, branch="b", revision="r", patchid=1),
                fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=20),
            ]
        )
        ss = await self.data.get(("sourcestamps", 20))
        self.assertEqual(
            ss,
            {
                "ssid": 20,
                "branch": "b",
                "revision": "r",
                "project": "proj",
                "repository": "repo",
                "codebase": "",
                "created_at": epoch2datetime(89834834),
                "patch": {
                    "patchid": 1,
                    "body": b"hello",
                    "level": 1,
                    "subdir": "d",
                    "author": "a",
                    "comment": "c",
                },
            },
        )
        self.assertEqual(list(await self.data.get(("buildsets", "10", "sourcestamps"))), [ss])
        self.assertEqual(list(await self.data.get(("buildsets", "x", "sourcestamps"))), [])

    async def test_schedulers_and_changesources(self):
        up = self.data.updates
        sid = await up.findSchedulerId("sch")
        self.assertTrue(await up.trySetSchedulerMaster(sid, MASTERID))
        master = await self.data.get(("masters", MASTERID))
        expected = {"schedulerid": sid, "name": "sch", "enabled": True, "master": master}
        self.assertEqual(await self.data.get(("schedulers", sid)), expected)
        self.assertEqual(await self.data.get(("masters", MASTERID, "schedulers", sid)), expected)
        await self.data.control("enable", {"enabled": False}, ("schedulers", sid))
        expected["enabled"] = False
        self.assertProductions([(("schedulers", str(sid), "updated"), expected)])
        csid = await up.findChangeSourceId("cs")
        self.assertEqual(
            await self.data.get(("changesources", csid)),
            {"changesourceid": csid, "name": "cs", "master": None},
        )
        self.assertTrue(await up.trySetChangeSourceMaster(csid, MASTERID))
        sources = await self.data.get(("masters", MASTERID, "changesources"))
        self.assertEqual([c["changesourceid"] for c in sources], [csid])

    async def test_projects(self):
        await self.insert_test_data([fakedb.Builder(id=6, name="b6", projectid=3)])
        await self.insert_test_data([fakedb.BuilderMaster(builderid=6, masterid=MASTERID)])
        p = await self.data.get(("projects", "proj"))
        self.assertEqual(
            p,
            {
                "projectid": 3,
                "name": "proj",
                "slug": "proj",
                "active": None,
                "description": None,
                "description_format": None,
                "description_html": None,
            },
        )
        active = await self.data.get(("projects",), filters=[Filter("active", "eq", [True])])
        self.assertEqual([(x["projectid"], x["active"]) for x in active], [(3, True)])
        await self.data.updates.update_project_info(4, "idle2", "d", None, None)
        [(key, msg)] = self.mq.productions
        self.assertEqual((key, msg["slug"]), (("projects", "4", "update"), "idle2"))

    async def test_build_data(self):
        await self.data.updates.setBuildData(12, "n", b"\x00\x01", "src")
        expected = {"buildid": 12, "name": "n", "length": 2, "value": None, "source": "src"}
        self.assertEqual(list(await self.data.get(("builds", 12, "data"))), [expected])
        self.assertEqual(
            await self.data.get(("builders", "b5", "builds", 1, "data", "n")), expected
        )
        raw = await self.data.get(("builds", 12, "data", "n", "value"))
        self.assertEqual(raw["raw"], b"\x00\x01")
        self.assertEqual(self.mq.productions, [])

    async def test_test_results(self):
        up = self.data.updates
        setid = await up.addTestResultSet(5, 12, 13, "unit", "pass_fail", "boolean")
        await up.addTestResults(5, setid, [{"test_name": "t1", "value": "1", "line": 3}])
        await up.completeTestResultSet(setid, tests_passed=1, tests_failed=0)
        self.assertEqual(
            ["/".join(k) for k, _ in self.mq.productions],
            [f"test_result_sets/{setid}/new", f"test_result_sets/{setid}/completed"],
        )
        trs = await self.data.get(("test_result_sets", setid))
        self.assertEqual(
            trs,
            {
                "test_result_setid": setid,
                "builderid": 5,
                "buildid": 12,
                "stepid": 13,
                "description": "unit",
                "category": "pass_fail",
                "value_unit": "boolean",
                "tests_passed": 1,
                "tests_failed": 0,
                "complete": True,
            },
        )
        for path in [
            ("test_result_sets",),
            ("builds", 12, "test_result_sets"),
            ("steps", 13, "test_result_sets"),
            ("builders", "b5", "test_result_sets"),
        ]:
            self.assertEqual(list(await self.data.get(path)), [trs], path)
        [res] = await self.data.get(("test_result_sets", setid, "results"))
        del res["test_resultid"]
        self.assertEqual(
            res,
            {
                "builderid": 5,
                "test_result_setid": setid,
                "test_name": "t1",
                "test_code_path": None,
                "line": 3,
                "duration_ns": None,
                "value": "1",
            },
        )

    async def test_test_result_sets_of_commit_range(self):
        # commits base <- a1 <- a2 and base <- b1 of codebase 7; a buildset each for
        # a1 (the build 12 of setUp), a2 and b1
        rows = [
            fakedb.Codebase(id=7, projectid=3, name="cb"),
            fakedb.Codebase(id=8, projectid=4, name="cb"),
            fakedb.CodebaseCommit(id=70, codebaseid=7, revision="r0"),
            fakedb.CodebaseCommit(id=71, codebaseid=7, revision="r1", parent_commitid=70),
            fakedb.CodebaseCommit(id=72, codebaseid=7, revision="r2", parent_commitid=71),
            fakedb.CodebaseCommit(id=73, codebaseid=7, revision="r3", parent_commitid=70),
            fakedb.SourceStamp(id=31, revision="r1"),
            fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=31),
        ]
        for n, revision in [(2, "r2"), (3, "r3")]:
            rows += [
                fakedb.SourceStamp(id=30 + n, revision=revision),
                fakedb.Buildset(id=10 * n),
                fakedb.BuildsetSourceStamp(buildsetid=10 * n, sourcestampid=30 + n),
                fakedb.BuildRequest(id=10 * n + 1, buildsetid=10 * n, builderid=5),
                fakedb.Build(
                    id=10 * n + 2,
                    number=n,
                    builderid=5,
                    buildrequestid=10 * n + 1,
                    masterid=MASTERID,
                ),
                fakedb.Step(id=10 * n + 3, buildid=10 * n + 2, number=0, name="s"),
            ]
        await self.insert_test_data(rows)
        up = self.data.updates
        set_a1 = await up.addTestResultSet(5, 12, 13, "unit", "pass_fail", "boolean")
        set_a2 = await up.addTestResultSet(5, 22, 23, "unit", "pass_fail", "boolean")
        set_b1 = await up.addTestResultSet(5, 32, 33, "unit", "pass_fail", "boolean")
        await up.completeTestResultSet(set_a2, tests_passed=2, tests_failed=0)

        async def ids(codebaseid, commitid1, commitid2, **spec):
            path = ("codebases", codebaseid, "commit_range", commitid1, commitid2)
            sets = await self.data.get((*path, "test_result_sets"), **spec)
            return [s["test_result_setid"] for s in sets]

        self.assertEqual(await ids(7, 70, 72), [set_a1, set_a2])
        self.assertEqual(await ids(7, 71, 72), [set_a1, set_a2])
        self.assertEqual(await ids(7, 70, 73), [set_b1])
        self.assertEqual(await ids(7, 71, 71), [set_a1])
        self.assertEqual(await ids(7, 70, 70), [])
        # commitid1 must be an ancestor of commitid2
        self.assertEqual(await ids(7, 72, 71), [])
        self.assertEqual(await ids(7, 71, 73), [])
        # unknown commits, or commits of another codebase
        self.assertEqual(await ids(7, 71, 99), [])
        self.assertEqual(await ids(8, 71, 72), [])
        # result specs apply as for the other collections
        self.assertEqual(await ids(7, 70, 72, filters=[Filter("complete", "eq", [True])]), [set_a2])
        self.assertEqual(await ids(7, 70, 72, order=["-test_result_setid"]), [set_a2, set_a1])
        self.assertEqual(await ids(7, 70, 72, limit=1), [set_a1])
        [one] = await self.data.get(("codebases", 7, "commit_range", 72, 72, "test_result_sets"))
        self.assertEqual(one, await self.data.get(("test_result_sets", set_a2)))

    async def test_invalid_path_and_control(self):
        with self.assertRaises(InvalidPathError):
            await self.data.get(("nothing",))
        with self.assertRaises(InvalidControlException):
            await self.data.control("fly", {}, ("masters", MASTERID))

    def test_registry(self):
        self.assertIsNotNone(self.data.getResourceType("build"))
        self.assertIsNone(self.data.getResourceType("nothing"))
        endpoints = self.data.allEndpoints()
        paths = {e["path"] for e in endpoints}
        for p in ["builds/n:buildid", "builders/s:buildername", "logs/n:logid/contents"]:
            self.assertIn(p, paths)
        endpoint, kwargs = self.data.getEndpoint(("builders", "5", "builds"))
        self.assertEqual(
            (endpoint.rtype.name, endpoint.isCollection, kwargs), ("build", True, {"builderid": 5})
        )


(
    TestFake,
    TestSQLite,
    TestPostgreSQL,
    TestMySQL,
    TestFakeData,
    TestFakeDataSQLite,
) = dataapi.data_test_cases(Tests)


class FakeOnly(dataapi.FakeDataMixin):
    """What only the fake does: record update calls, and let a test override one."""

    async def test_records_calls(self):
        self.assertIsInstance(self.data, FakeDataConnector)
        await self.data.updates.masterActive("me", MASTERID)
        self.data.updates.assertCalled("masterActive", name="me", masterid=MASTERID)
        self.data.updates.assertNotCalled("addBuild")
        with self.assertRaises(AssertionError):
            self.data.updates.assertCalled("masterActive", name="other")

    async def test_override(self):
        self.data.updates.override("addBuild", lambda *a, **kw: (99, 7))
        self.assertEqual(await self.data.updates.addBuild(5, 11, 1), (99, 7))
        self.assertEqual(
            self.data.updates.callsTo("addBuild"),
            [{"builderid": 5, "buildrequestid": 11, "workerid": 1}],
        )
        self.assertIsNone(await self.data.get(("builds", 99)))

    async def test_same_update_names_as_the_real_one(self):
        real = DataConnector()
        real.master = self.master
        real.setup()
        names = {n for n in vars(real.updates) if not n.startswith("_")}
        self.assertTrue({"addBuild", "appendLog", "addBuildset", "workerConnected"} <= names)
        for name in names:
            self.assertTrue(callable(getattr(self.data.updates, name)), name)


from twisted.trial import unittest as _unittest  # noqa: E402

from buildbot.test.util import db as _db  # noqa: E402


class TestFakeOnly(FakeOnly, _db.FakeDBMixin, _unittest.TestCase):
    pass
