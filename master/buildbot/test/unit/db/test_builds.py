"""The builds component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.builds import BuildModel
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.test import fakedb
from buildbot.test.unit.db.test_buildsets import read_table
from buildbot.test.util import db
from buildbot.util import epoch2datetime

SOMETIME = 1348971992
STARTED = 1304262222


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)
        await self.insert_test_data(
            [
                fakedb.Master(id=88),
                fakedb.Worker(id=47, name="w1"),
                fakedb.Worker(id=48, name="w2"),
                fakedb.Builder(id=77, name="b77"),
                fakedb.Builder(id=78, name="b78"),
                fakedb.SourceStamp(id=1, branch="main", repository="r", codebase="c"),
                fakedb.SourceStamp(id=2, branch="dev", repository="r", codebase="c"),
                fakedb.SourceStamp(id=3, branch="main", repository="r2", codebase="d"),
                fakedb.Buildset(id=20),
                fakedb.BuildRequest(id=40, buildsetid=20, builderid=77),
                fakedb.BuildRequest(id=41, buildsetid=20, builderid=78),
            ]
        )

    async def _builds(self):
        await self.insert_test_data(
            [
                fakedb.Build(
                    id=50, number=5, builderid=77, buildrequestid=40, workerid=47, masterid=88
                ),
                fakedb.Build(
                    id=51,
                    number=6,
                    builderid=77,
                    buildrequestid=40,
                    workerid=48,
                    masterid=88,
                    complete_at=STARTED + 100,
                    results=FAILURE,
                    locks_duration_s=3,
                    state_string="failed",
                ),
                fakedb.Build(
                    id=52, number=5, builderid=78, buildrequestid=41, workerid=47, masterid=88
                ),
            ]
        )

    async def ids(self, **kw):
        return [b.id for b in await self.db.builds.getBuilds(**kw)]

    async def test_getBuild(self):
        await self._builds()
        self.assertEqual(
            await self.db.builds.getBuild(51),
            BuildModel(
                id=51,
                number=6,
                builderid=77,
                buildrequestid=40,
                workerid=48,
                masterid=88,
                started_at=epoch2datetime(STARTED),
                complete_at=epoch2datetime(STARTED + 100),
                locks_duration_s=3,
                state_string="failed",
                results=FAILURE,
            ),
        )
        b = await self.db.builds.getBuild(50)
        self.assertEqual((b.complete_at, b.results), (None, None))
        self.assertIsNone(await self.db.builds.getBuild(999))

    async def test_getBuildByNumber(self):
        await self._builds()
        self.assertEqual((await self.db.builds.getBuildByNumber(77, 5)).id, 50)
        self.assertEqual((await self.db.builds.getBuildByNumber(78, 5)).id, 52)
        self.assertIsNone(await self.db.builds.getBuildByNumber(77, 7))
        self.assertIsNone(await self.db.builds.getBuildByNumber(999, 5))

    async def test_getBuilds(self):
        await self._builds()
        self.assertEqual(await self.ids(), [50, 51, 52])
        self.assertEqual(await self.ids(builderid=77), [50, 51])
        self.assertEqual(await self.ids(buildrequestid=41), [52])
        self.assertEqual(await self.ids(workerid=47), [50, 52])
        self.assertEqual(await self.ids(complete=True), [51])
        self.assertEqual(await self.ids(complete=False), [50, 52])
        self.assertEqual(await self.ids(builderid=77, complete=False, workerid=47), [50])
        self.assertEqual(await self.ids(builderid=999), [])

    async def test_addBuild_first_and_next(self):
        self.assertEqual(await self.db.builds.getBuilds(), [])
        buildid, number = await self.db.builds.addBuild(77, 40, 47, 88, "starting")
        self.assertEqual(number, 1)
        self.assertEqual(
            await self.db.builds.getBuild(buildid),
            BuildModel(
                id=buildid,
                number=1,
                builderid=77,
                buildrequestid=40,
                workerid=47,
                masterid=88,
                started_at=epoch2datetime(SOMETIME),
                complete_at=None,
                locks_duration_s=0,
                state_string="starting",
                results=None,
            ),
        )
        _, number = await self.db.builds.addBuild(77, 40, None, 88, "again")
        self.assertEqual(number, 2)
        # numbering is per builder
        _, number = await self.db.builds.addBuild(78, 41, 47, 88, "other")
        self.assertEqual(number, 1)

    async def test_addBuild_after_existing(self):
        await self._builds()
        buildid, number = await self.db.builds.addBuild(77, 40, 47, 88, "s")
        self.assertEqual(number, 7)
        self.assertEqual((await self.db.builds.getBuildByNumber(77, 7)).id, buildid)

    async def test_addBuild_race(self):
        # another master takes numbers 1 and then 2 just before each insert
        taken = []

        def race_hook(conn):
            if len(taken) == 2:
                return
            number = len(taken) + 1
            taken.append(number)
            values = {
                "number": number,
                "builderid": 77,
                "buildrequestid": 40,
                "masterid": 88,
                "started_at": SOMETIME,
                "locks_duration_s": 0,
                "state_string": "theirs",
            }
            if self.backend == "fake":
                conn.insert("builds", values)
            else:
                conn.execute(self.db.model.builds.insert().values(**values))

        buildid, number = await self.db.builds.addBuild(
            77, 40, 47, 88, "mine", _race_hook=race_hook
        )
        self.assertEqual(number, 3)
        self.assertEqual(
            [(b.number, b.state_string) for b in await self.db.builds.getBuilds(builderid=77)],
            [(1, "theirs"), (2, "theirs"), (3, "mine")],
        )

    async def test_addBuild_missing_argument(self):
        with self.assertRaises(ValueError):
            await self.db.builds.addBuild(77, 40, 47, 88, None)
        self.assertEqual(await self.db.builds.getBuilds(), [])

    async def test_setBuildStateString(self):
        await self._builds()
        await self.db.builds.setBuildStateString(50, "building")
        self.assertEqual((await self.db.builds.getBuild(50)).state_string, "building")
        self.assertEqual((await self.db.builds.getBuild(52)).state_string, "test")
        await self.db.builds.setBuildStateString(999, "nothing")  # no error

    async def test_add_build_locks_duration(self):
        await self._builds()
        await self.db.builds.add_build_locks_duration(51, 10)
        await self.db.builds.add_build_locks_duration(51, 2)
        self.assertEqual((await self.db.builds.getBuild(51)).locks_duration_s, 15)
        self.assertEqual((await self.db.builds.getBuild(50)).locks_duration_s, 0)
        await self.db.builds.add_build_locks_duration(999, 2)  # no error

    async def test_finishBuild(self):
        await self._builds()
        await self.db.builds.finishBuild(50, SUCCESS)
        b = await self.db.builds.getBuild(50)
        self.assertEqual((b.complete_at, b.results), (epoch2datetime(SOMETIME), SUCCESS))
        self.assertEqual(await self.ids(complete=False), [52])

    async def test_build_properties(self):
        await self._builds()
        self.assertEqual(await self.db.builds.getBuildProperties(50), {})
        await self.db.builds.setBuildProperty(50, "a", 1, "src")
        await self.db.builds.setBuildProperty(50, "b", {"x": [1, None]}, "other")
        await self.db.builds.setBuildProperty(52, "a", "theirs", "s")
        self.assertEqual(
            await self.db.builds.getBuildProperties(50),
            {"a": (1, "src"), "b": ({"x": [1, None]}, "other")},
        )
        # setting again replaces, never duplicates
        await self.db.builds.setBuildProperty(50, "a", [2], "newsrc")
        await self.db.builds.setBuildProperty(50, "a", [2], "newsrc")
        self.assertEqual((await self.db.builds.getBuildProperties(50))["a"], ([2], "newsrc"))
        rows = [r for r in await read_table(self, "build_properties") if r["buildid"] == 50]
        self.assertEqual(len(rows), 2)
        self.assertEqual(await self.db.builds.getBuildProperties(52), {"a": ("theirs", "s")})
        self.assertEqual(await self.db.builds.getBuildProperties(999), {})

    async def test_setBuildProperties_in_one_go(self):
        await self._builds()
        await self.db.builds.setBuildProperty(50, "kept", 1, "src")
        changed = await self.db.builds.setBuildProperties(
            50, {"kept": (1, "src"), "new": ([1], "s"), "moved": ("x", "s")}
        )
        self.assertEqual(changed, {"new": ([1], "s"), "moved": ("x", "s")})
        changed = await self.db.builds.setBuildProperties(50, {"moved": ("y", "s2")})
        self.assertEqual(changed, {"moved": ("y", "s2")})
        self.assertEqual(
            await self.db.builds.getBuildProperties(50),
            {"kept": (1, "src"), "new": ([1], "s"), "moved": ("y", "s2")},
        )
        # a bad name refuses the whole call: nothing is written
        with self.assertRaises(RuntimeError):
            await self.db.builds.setBuildProperties(50, {"ok": (1, "s"), "n" * 257: (1, "s")})
        with self.assertRaises(TypeError):
            await self.db.builds.setBuildProperties(50, {"ok": (object(), "s")})
        self.assertNotIn("ok", await self.db.builds.getBuildProperties(50))

    async def test_setBuildProperty_refused(self):
        await self._builds()
        with self.assertRaises(RuntimeError):
            await self.db.builds.setBuildProperty(50, "n" * 257, 1, "s")
        with self.assertRaises(RuntimeError):
            await self.db.builds.setBuildProperty(50, "n", 1, "s" * 257)
        with self.assertRaises(TypeError):
            await self.db.builds.setBuildProperty(50, "n", object(), "s")
        await self.db.builds.setBuildProperty(50, "n" * 256, 1, "s" * 256)
        self.assertEqual(list(await self.db.builds.getBuildProperties(50)), ["n" * 256])

    async def test_getBuildsForChange(self):
        await self.insert_test_data(
            [
                fakedb.Buildset(id=21),
                fakedb.BuildRequest(id=42, buildsetid=21, builderid=77),
                fakedb.BuildsetSourceStamp(buildsetid=20, sourcestampid=1),
                fakedb.BuildsetSourceStamp(buildsetid=21, sourcestampid=1),
                fakedb.BuildsetSourceStamp(buildsetid=21, sourcestampid=2),
                fakedb.Change(changeid=13, sourcestampid=1),
                fakedb.Change(changeid=14, sourcestampid=2),
                fakedb.Change(changeid=15, sourcestampid=3),
                fakedb.Build(id=60, number=1, builderid=77, buildrequestid=40, masterid=88),
                fakedb.Build(id=61, number=1, builderid=78, buildrequestid=41, masterid=88),
                fakedb.Build(id=62, number=2, builderid=77, buildrequestid=42, masterid=88),
            ]
        )

        async def for_change(changeid):
            return [b.id for b in await self.db.builds.getBuildsForChange(changeid)]

        self.assertEqual(await for_change(13), [60, 61, 62])
        self.assertEqual(await for_change(14), [62])
        self.assertEqual(await for_change(15), [])
        self.assertEqual(await for_change(999), [])

    async def test_get_triggered_builds(self):
        await self._builds()
        await self.insert_test_data(
            [
                fakedb.Buildset(id=21, parent_buildid=50),
                fakedb.BuildRequest(id=42, buildsetid=21, builderid=78),
                fakedb.Build(id=63, number=9, builderid=78, buildrequestid=42, masterid=88),
            ]
        )
        self.assertEqual([b.id for b in await self.db.builds.get_triggered_builds(50)], [63])
        self.assertEqual(await self.db.builds.get_triggered_builds(51), [])

    async def test_getPrevSuccessfulBuild(self):
        # buildsets: 20 -> ss 1 (r/main/c), 21 -> ss 2 (r/dev/c), 22 -> ss 1 + 3
        rows = [
            fakedb.Buildset(id=21),
            fakedb.Buildset(id=22),
            fakedb.BuildsetSourceStamp(buildsetid=20, sourcestampid=1),
            fakedb.BuildsetSourceStamp(buildsetid=21, sourcestampid=2),
            fakedb.BuildsetSourceStamp(buildsetid=22, sourcestampid=1),
            fakedb.BuildsetSourceStamp(buildsetid=22, sourcestampid=3),
            fakedb.BuildRequest(id=42, buildsetid=21, builderid=77),
            fakedb.BuildRequest(id=43, buildsetid=22, builderid=77),
        ]
        # builder 77: 1 ok main, 2 fail main, 3 ok dev, 4 ok main+r2, 5 (running) main
        for number, brid, results in [
            (1, 40, SUCCESS),
            (2, 40, FAILURE),
            (3, 42, SUCCESS),
            (4, 43, SUCCESS),
            (5, 40, None),
        ]:
            rows.append(
                fakedb.Build(
                    id=100 + number,
                    number=number,
                    builderid=77,
                    buildrequestid=brid,
                    masterid=88,
                    results=results,
                )
            )
        await self.insert_test_data(rows)
        main = [{"repository": "r", "branch": "main", "codebase": "c"}]
        both = main + [{"repository": "r2", "branch": "main", "codebase": "d"}]
        dev = [{"repository": "r", "branch": "dev", "codebase": "c"}]

        async def prev(number, ss, builderid=77):
            b = await self.db.builds.getPrevSuccessfulBuild(builderid, number, ss)
            return b.number if b is not None else None

        self.assertEqual(await prev(6, main), 1)
        self.assertEqual(await prev(1, main), None)
        self.assertEqual(await prev(6, dev), 3)
        self.assertEqual(await prev(3, dev), None)
        self.assertEqual(await prev(6, both), 4)
        self.assertEqual(await prev(6, main, builderid=78), None)
        self.assertEqual(await prev(6, [{"repository": "x", "branch": "y", "codebase": ""}]), None)

    async def test_getPrevSuccessfulBuild_many_pages(self):
        rows = [
            fakedb.Buildset(id=21),
            fakedb.BuildsetSourceStamp(buildsetid=20, sourcestampid=1),
            fakedb.BuildsetSourceStamp(buildsetid=21, sourcestampid=2),
            fakedb.BuildRequest(id=42, buildsetid=21, builderid=77),
            fakedb.Build(
                id=1000, number=1, builderid=77, buildrequestid=40, masterid=88, results=0
            ),
        ]
        # 250 later successful builds of another branch hide build 1
        rows += [
            fakedb.Build(
                id=1000 + n, number=n, builderid=77, buildrequestid=42, masterid=88, results=0
            )
            for n in range(2, 252)
        ]
        await self.insert_test_data(rows)
        b = await self.db.builds.getPrevSuccessfulBuild(
            77, 300, [{"repository": "r", "branch": "main", "codebase": "c"}]
        )
        self.assertEqual(b.id, 1000)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
