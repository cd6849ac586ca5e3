"""The test_results component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.test_results import TestResultModel
from buildbot.test import fakedb
from buildbot.test.util import db

BASE_ROWS = [
    fakedb.Master(id=88),
    fakedb.Builder(id=77, name="b1"),
    fakedb.Builder(id=78, name="b2"),
    fakedb.Buildset(id=20),
    fakedb.BuildRequest(id=41, buildsetid=20, builderid=77),
    fakedb.Build(id=30, buildrequestid=41, number=7, masterid=88, builderid=77),
    fakedb.Build(id=32, buildrequestid=41, number=1, masterid=88, builderid=78),
    fakedb.Step(id=131, number=0, name="a", buildid=30),
    fakedb.Step(id=134, number=0, name="a", buildid=32),
    fakedb.TestResultSet(
        id=13, builderid=77, buildid=30, stepid=131, category="c", value_unit="u", complete=0
    ),
    fakedb.TestResultSet(
        id=14, builderid=77, buildid=30, stepid=131, category="c", value_unit="u", complete=0
    ),
    fakedb.TestResultSet(
        id=15, builderid=78, buildid=32, stepid=134, category="c", value_unit="u", complete=0
    ),
]


class Tests:
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(BASE_ROWS)

    async def test_add_and_get(self):
        await self.db.test_results.addTestResults(
            77,
            13,
            [
                {"test_name": "name1", "value": "1"},
                {
                    "test_name": "name2",
                    "test_code_path": "path2",
                    "line": 42,
                    "duration_ns": 1000,
                    "value": "0",
                },
                {"test_code_path": "path1", "value": "2"},
                {"test_name": "name1", "test_code_path": "path2", "value": "3"},
            ],
        )
        results = await self.db.test_results.getTestResults(77, 13)
        self.assertEqual(
            [(r.test_name, r.test_code_path, r.line, r.duration_ns, r.value) for r in results],
            [
                ("name1", None, None, None, "1"),
                ("name2", "path2", 42, 1000, "0"),
                (None, "path1", None, None, "2"),
                ("name1", "path2", None, None, "3"),
            ],
        )
        first = results[1]
        self.assertEqual(
            await self.db.test_results.getTestResult(first.id),
            TestResultModel(
                id=first.id,
                builderid=77,
                test_result_setid=13,
                test_name="name2",
                test_code_path="path2",
                line=42,
                duration_ns=1000,
                value="0",
            ),
        )
        self.assertEqual(await self.db.test_results.getTestNames(77), ["name1", "name2"])
        self.assertEqual(await self.db.test_results.getTestCodePaths(77), ["path1", "path2"])

    async def test_names_shared_within_builder(self):
        await self.db.test_results.addTestResults(77, 13, [{"test_name": "n", "value": "1"}])
        await self.db.test_results.addTestResults(77, 14, [{"test_name": "n", "value": "2"}])
        await self.db.test_results.addTestResults(78, 15, [{"test_name": "n", "value": "3"}])
        self.assertEqual(await self.db.test_results.getTestNames(77), ["n"])
        self.assertEqual(await self.db.test_results.getTestNames(78), ["n"])
        if self.backend == "fake":
            count = len(self.db.tables.select("test_names"))
        else:
            tbl = self.db.model.test_names
            count = await self.db.pool.do(lambda conn: conn.execute(tbl.select()).all().__len__())
        self.assertEqual(count, 2)
        self.assertEqual(
            [r.value for r in await self.db.test_results.getTestResults(77, 14)], ["2"]
        )
        self.assertEqual(await self.db.test_results.getTestResults(78, 13), [])

    async def test_existing_rows(self):
        await self.insert_test_data(
            [
                fakedb.TestName(id=301, builderid=77, name="old"),
                fakedb.TestCodePath(id=401, builderid=77, path="p/old"),
                fakedb.TestResult(
                    id=501,
                    builderid=77,
                    test_result_setid=13,
                    test_nameid=301,
                    test_code_pathid=401,
                    value="v",
                ),
            ]
        )
        await self.db.test_results.addTestResults(
            77, 13, [{"test_name": "old", "test_code_path": "p/old", "value": "w"}]
        )
        results = await self.db.test_results.getTestResults(77, 13)
        self.assertEqual(
            [(r.id == 501, r.test_name, r.value) for r in results],
            [(True, "old", "v"), (False, "old", "w")],
        )
        self.assertEqual(await self.db.test_results.getTestNames(77), ["old"])

    async def test_unknown(self):
        self.assertIsNone(await self.db.test_results.getTestResult(999))
        self.assertEqual(await self.db.test_results.getTestNames(999), [])

    async def test_many_results_one_call(self):
        values = [
            {"test_name": f"test{i:04d}", "test_code_path": f"file{i % 7}", "value": str(i)}
            for i in range(1200)
        ]
        await self.db.test_results.addTestResults(77, 13, values)
        results = await self.db.test_results.getTestResults(77, 13)
        self.assertEqual([r.value for r in results], [str(i) for i in range(1200)])
        self.assertEqual(len(await self.db.test_results.getTestNames(77)), 1200)
        self.assertEqual(len(await self.db.test_results.getTestCodePaths(77)), 7)

    async def test_missing_value_adds_nothing(self):
        with self.assertRaises(ValueError):
            await self.db.test_results.addTestResults(
                77, 13, [{"test_name": "a", "value": "1"}, {"test_name": "b"}]
            )
        self.assertEqual(await self.db.test_results.getTestResults(77, 13), [])
        self.assertEqual(await self.db.test_results.getTestNames(77), [])

    async def test_prefixes(self):
        await self.db.test_results.addTestResults(
            77,
            13,
            [
                {"test_name": "alpha1", "test_code_path": "src/a", "value": "1"},
                {"test_name": "alpha2", "test_code_path": "src/b", "value": "1"},
                {"test_name": "beta1", "test_code_path": "lib/a", "value": "1"},
                {"test_name": "al%x", "test_code_path": "src_c", "value": "1"},
            ],
        )
        names = self.db.test_results.getTestNames
        self.assertEqual(await names(77, name_prefix="alpha"), ["alpha1", "alpha2"])
        self.assertEqual(await names(77, name_prefix="al%"), ["al%x"])
        self.assertEqual(await names(77, name_prefix="gamma"), [])
        paths = self.db.test_results.getTestCodePaths
        self.assertEqual(await paths(77, path_prefix="src/"), ["src/a", "src/b"])
        self.assertEqual(await paths(77, path_prefix="src_"), ["src_c"])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
