"""The test_result_sets component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.test_result_sets import (
    TestResultSetAlreadyCompleted,
    TestResultSetDoesNotExist,
    TestResultSetModel,
)
from buildbot.test import fakedb
from buildbot.test.util import db

BASE_ROWS = [
    fakedb.Master(id=88),
    fakedb.Builder(id=77, name="b1"),
    fakedb.Builder(id=78, name="b2"),
    fakedb.Buildset(id=20),
    fakedb.BuildRequest(id=41, buildsetid=20, builderid=77),
    fakedb.Build(id=30, buildrequestid=41, number=7, masterid=88, builderid=77),
    fakedb.Build(id=31, buildrequestid=41, number=8, masterid=88, builderid=77),
    fakedb.Build(id=32, buildrequestid=41, number=1, masterid=88, builderid=78),
    fakedb.Step(id=131, number=0, name="a", buildid=30),
    fakedb.Step(id=132, number=1, name="b", buildid=30),
    fakedb.Step(id=133, number=0, name="a", buildid=31),
    fakedb.Step(id=134, number=0, name="a", buildid=32),
]


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(BASE_ROWS)

    async def test_add_and_get(self):
        setid = await self.db.test_result_sets.addTestResultSet(
            77, 30, 131, "unit tests", "pass_fail", "boolean"
        )
        self.assertEqual(
            await self.db.test_result_sets.getTestResultSet(setid),
            TestResultSetModel(
                id=setid,
                builderid=77,
                buildid=30,
                stepid=131,
                description="unit tests",
                category="pass_fail",
                value_unit="boolean",
                tests_passed=None,
                tests_failed=None,
                complete=False,
            ),
        )
        other = await self.db.test_result_sets.addTestResultSet(77, 30, 131, None, "perf", "ms")
        self.assertNotEqual(setid, other)
        self.assertIsNone((await self.db.test_result_sets.getTestResultSet(other)).description)

    async def test_get_unknown(self):
        self.assertIsNone(await self.db.test_result_sets.getTestResultSet(999))

    async def test_getTestResultSets_filters(self):
        await self.insert_test_data(
            [
                fakedb.TestResultSet(
                    id=91,
                    builderid=77,
                    buildid=30,
                    stepid=131,
                    category="c",
                    value_unit="u",
                    complete=1,
                    tests_passed=3,
                    tests_failed=1,
                ),
                fakedb.TestResultSet(
                    id=92,
                    builderid=77,
                    buildid=30,
                    stepid=132,
                    category="c",
                    value_unit="u",
                    complete=0,
                ),
                fakedb.TestResultSet(
                    id=93,
                    builderid=77,
                    buildid=31,
                    stepid=133,
                    category="c",
                    value_unit="u",
                    complete=1,
                ),
                fakedb.TestResultSet(
                    id=94,
                    builderid=78,
                    buildid=32,
                    stepid=134,
                    category="c",
                    value_unit="u",
                    complete=0,
                ),
            ]
        )

        async def ids(*args, **kwargs):
            sets = await self.db.test_result_sets.getTestResultSets(*args, **kwargs)
            return [s.id for s in sets]

        self.assertEqual(await ids(77), [91, 92, 93])
        self.assertEqual(await ids(78), [94])
        self.assertEqual(await ids(77, buildid=30), [91, 92])
        self.assertEqual(await ids(77, stepid=132), [92])
        self.assertEqual(await ids(77, buildid=30, stepid=133), [])
        self.assertEqual(await ids(77, complete=True), [91, 93])
        self.assertEqual(await ids(77, complete=False), [92])
        self.assertEqual(await ids(77, buildid=31, complete=False), [])
        self.assertEqual(await ids(999), [])
        first = (await self.db.test_result_sets.getTestResultSets(77))[0]
        self.assertEqual((first.tests_passed, first.tests_failed, first.complete), (3, 1, True))

    async def test_complete(self):
        setid = await self.db.test_result_sets.addTestResultSet(77, 30, 131, "d", "c", "u")
        await self.db.test_result_sets.completeTestResultSet(setid, tests_passed=5, tests_failed=2)
        got = await self.db.test_result_sets.getTestResultSet(setid)
        self.assertEqual((got.complete, got.tests_passed, got.tests_failed), (True, 5, 2))
        with self.assertRaises(TestResultSetAlreadyCompleted):
            await self.db.test_result_sets.completeTestResultSet(setid, tests_passed=9)
        got = await self.db.test_result_sets.getTestResultSet(setid)
        self.assertEqual(got.tests_passed, 5)

    async def test_complete_without_counts(self):
        setid = await self.db.test_result_sets.addTestResultSet(77, 30, 131, "d", "c", "u")
        await self.db.test_result_sets.completeTestResultSet(setid)
        got = await self.db.test_result_sets.getTestResultSet(setid)
        self.assertEqual((got.complete, got.tests_passed, got.tests_failed), (True, None, None))

    async def test_complete_unknown(self):
        with self.assertRaises(TestResultSetDoesNotExist):
            await self.db.test_result_sets.completeTestResultSet(999)

    async def insert_commit_builds(self):
        """Commits r1 <- r2 <- r3 (and r4, never built) of codebase 5, r2 again in
        codebase 6; buildset 21 builds r1 and r2 (builds 35 and its retry 38), 22 an
        unknown revision, 23 r2, 24 a sourcestamp without revision, 25 r3."""

        def trs(setid, buildid, stepid):
            return fakedb.TestResultSet(
                id=setid,
                builderid=77,
                buildid=buildid,
                stepid=stepid,
                category="c",
                value_unit="u",
                complete=setid % 2,
            )

        rows = [
            fakedb.Project(id=1, name="p"),
            fakedb.Codebase(id=5, projectid=1, name="cb5"),
            fakedb.Codebase(id=6, projectid=1, name="cb6"),
            fakedb.CodebaseCommit(id=501, codebaseid=5, revision="r1"),
            fakedb.CodebaseCommit(id=502, codebaseid=5, revision="r2", parent_commitid=501),
            fakedb.CodebaseCommit(id=503, codebaseid=5, revision="r3", parent_commitid=502),
            fakedb.CodebaseCommit(id=504, codebaseid=5, revision="r4", parent_commitid=503),
            fakedb.CodebaseCommit(id=602, codebaseid=6, revision="r2"),
            fakedb.SourceStamp(id=201, revision="r1"),
            fakedb.SourceStamp(id=202, revision="r2"),
            fakedb.SourceStamp(id=203, revision="rX"),
            fakedb.SourceStamp(id=204, revision=None),
            fakedb.SourceStamp(id=205, revision="r3"),
        ]
        for bsid, ssids in [(21, [201, 202]), (22, [203]), (23, [202]), (24, [204]), (25, [205])]:
            rows.append(fakedb.Buildset(id=bsid))
            rows.extend(
                fakedb.BuildsetSourceStamp(buildsetid=bsid, sourcestampid=ssid) for ssid in ssids
            )
            rows.append(fakedb.BuildRequest(id=bsid + 30, buildsetid=bsid, builderid=77))
        for buildid, brid in [(35, 51), (36, 52), (37, 53), (38, 51), (39, 55), (40, 54)]:
            rows.append(
                fakedb.Build(
                    id=buildid, buildrequestid=brid, number=buildid, masterid=88, builderid=77
                )
            )
            rows.append(fakedb.Step(id=buildid + 100, number=0, name="s", buildid=buildid))
        # build 35's sets come after the others' to show the order is by id
        rows += [
            trs(96, 36, 136),
            trs(97, 37, 137),
            trs(98, 38, 138),
            trs(99, 35, 135),
            trs(100, 35, 135),
            trs(101, 39, 139),
            trs(102, 30, 131),
            trs(103, 40, 140),
        ]
        await self.insert_test_data(rows)

    async def test_get_test_result_sets_for_commits(self):
        await self.insert_commit_builds()

        async def ids(commit_ids):
            sets = await self.db.test_result_sets.get_test_result_sets_for_commits(commit_ids)
            return [s.id for s in sets]

        self.assertEqual(await ids([501]), [98, 99, 100])
        self.assertEqual(await ids([502]), [97, 98, 99, 100])
        # a set whose buildset has both revisions, or asked for twice, comes once
        self.assertEqual(await ids([502, 501, 502]), [97, 98, 99, 100])
        self.assertEqual(await ids([501, 503]), [98, 99, 100, 101])
        self.assertEqual(await ids([503]), [101])
        self.assertEqual(await ids([504]), [])
        # matched by revision, whatever the commit's codebase
        self.assertEqual(await ids([602]), [97, 98, 99, 100])
        self.assertEqual(await ids([999]), [])
        self.assertEqual(await ids([]), [])

    async def test_get_test_result_sets_for_commits_model(self):
        await self.insert_commit_builds()
        sets = await self.db.test_result_sets.get_test_result_sets_for_commits([502])
        self.assertEqual(
            sets[0],
            TestResultSetModel(
                id=97,
                builderid=77,
                buildid=37,
                stepid=137,
                description=None,
                category="c",
                value_unit="u",
                tests_passed=None,
                tests_failed=None,
                complete=True,
            ),
        )

    async def test_get_test_result_sets_for_many_commits(self):
        await self.insert_commit_builds()
        many = list(range(1000, 1600)) + [501]
        sets = await self.db.test_result_sets.get_test_result_sets_for_commits(many)
        self.assertEqual([s.id for s in sets], [98, 99, 100])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
