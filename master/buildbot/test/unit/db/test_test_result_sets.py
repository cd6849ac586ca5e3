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


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
