"""The buildsets component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import datetime

import sqlalchemy as sa

from buildbot.db.buildsets import AlreadyCompleteError, BuildSetModel
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.util import UTC, epoch2datetime

SOMETIME = 1348971992
OTHERTIME = 1348970000


async def read_table(testcase, name):
    """Every row of a table as dicts ordered by their columns, on any back-end."""
    if testcase.backend == "fake":
        rows = testcase.db.tables.select(name)
    else:
        table = testcase.db.model.metadata.tables[name]

        def thd(conn):
            return [dict(r._mapping) for r in conn.execute(sa.select(table))]

        rows = await testcase.db.pool.do(thd)
    return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)
        await self.insert_test_data(
            [
                fakedb.Builder(id=1, name="b1"),
                fakedb.Builder(id=2, name="b2"),
                fakedb.SourceStamp(id=10, branch="main", repository="repo-a", revision="r1"),
                fakedb.SourceStamp(id=11, branch="dev", repository="repo-b", revision="r2"),
            ]
        )

    async def test_addBuildset_simple(self):
        bsid, brids = await self.db.buildsets.addBuildset(
            sourcestamps=[10], reason="because", properties={}, builderids=[1, 2], waited_for=False
        )
        self.assertEqual(
            await self.db.buildsets.getBuildset(bsid),
            BuildSetModel(
                bsid=bsid,
                external_idstring=None,
                reason="because",
                submitted_at=epoch2datetime(SOMETIME),
                complete=False,
                complete_at=None,
                results=-1,
                sourcestamps=[10],
            ),
        )
        self.assertEqual(sorted(brids), [1, 2])
        reqs = await read_table(self, "buildrequests")
        self.assertEqual(
            sorted((r["id"], r["buildsetid"], r["builderid"]) for r in reqs),
            sorted((brid, bsid, builderid) for builderid, brid in brids.items()),
        )
        for r in reqs:
            self.assertEqual(
                (r["complete"], r["results"], r["submitted_at"], r["waited_for"], r["priority"]),
                (0, -1, SOMETIME, 0, 0),
            )
        self.assertEqual(await read_table(self, "buildrequest_claims"), [])

    async def test_addBuildset_everything(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=5),
                fakedb.Buildset(id=90),
                fakedb.BuildRequest(id=91, buildsetid=90, builderid=1),
                fakedb.Build(id=92, number=1, builderid=1, buildrequestid=91, masterid=5),
            ]
        )
        submitted = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
        props = {"a": (1, "test"), "b": ({"x": [1, 2]}, "other"), "c": (None, "s")}
        bsid, brids = await self.db.buildsets.addBuildset(
            sourcestamps=[11, 10],
            reason="rebuild",
            properties=props,
            builderids=[2],
            waited_for=True,
            external_idstring="ext-1",
            submitted_at=submitted,
            rebuilt_buildid=92,
            parent_buildid=92,
            parent_relationship="triggered",
            priority=7,
        )
        bs = await self.db.buildsets.getBuildset(bsid)
        self.assertEqual(
            bs,
            BuildSetModel(
                bsid=bsid,
                external_idstring="ext-1",
                reason="rebuild",
                submitted_at=submitted,
                results=-1,
                parent_buildid=92,
                parent_relationship="triggered",
                rebuilt_buildid=92,
                sourcestamps=[11, 10],
            ),
        )
        self.assertEqual(await self.db.buildsets.getBuildsetProperties(bsid), props)
        (req,) = [r for r in await read_table(self, "buildrequests") if r["id"] == brids[2]]
        self.assertEqual(
            (req["priority"], req["waited_for"], req["submitted_at"]),
            (7, 1, int(submitted.timestamp())),
        )

    async def test_addBuildset_no_builders_no_sourcestamps(self):
        bsid, brids = await self.db.buildsets.addBuildset([], None, None, [], waited_for=False)
        self.assertEqual(brids, {})
        bs = await self.db.buildsets.getBuildset(bsid)
        self.assertEqual((bs.reason, bs.sourcestamps), (None, []))

    async def test_addBuildset_failure_writes_nothing(self):
        # a NULL builderid fails on the second request: nothing may remain
        with self.assertRaises(sa.exc.IntegrityError):
            await self.db.buildsets.addBuildset(
                [10], "r", {"p": (1, "s")}, [1, None], waited_for=False
            )
        for table in ("buildsets", "buildset_properties", "buildset_sourcestamps", "buildrequests"):
            self.assertEqual(await read_table(self, table), [], table)

    async def test_addBuildset_bad_arguments(self):
        with self.assertRaises(TypeError):
            await self.db.buildsets.addBuildset([10], "r", {}, [1], waited_for=1)
        with self.assertRaises(TypeError):
            await self.db.buildsets.addBuildset([{"branch": "x"}], "r", {}, [1], waited_for=False)
        with self.assertRaises(RuntimeError):
            await self.db.buildsets.addBuildset([10], "r" * 257, {}, [1], waited_for=False)
        with self.assertRaises(RuntimeError):
            await self.db.buildsets.addBuildset(
                [10], "r", {}, [1], waited_for=False, external_idstring="e" * 257
            )
        with self.assertRaises(RuntimeError):
            await self.db.buildsets.addBuildset(
                [10], "r", {"p" * 257: (1, "s")}, [1], waited_for=False
            )
        self.assertEqual(await read_table(self, "buildsets"), [])

    async def test_addBuildset_longest_reason(self):
        bsid, _ = await self.db.buildsets.addBuildset([10], "r" * 256, {}, [1], waited_for=False)
        self.assertEqual((await self.db.buildsets.getBuildset(bsid)).reason, "r" * 256)

    async def test_completeBuildset(self):
        bsid, _ = await self.db.buildsets.addBuildset([10], "r", {}, [1], waited_for=False)
        await self.db.buildsets.completeBuildset(bsid, 2)
        bs = await self.db.buildsets.getBuildset(bsid)
        self.assertEqual(
            (bs.complete, bs.results, bs.complete_at), (True, 2, epoch2datetime(SOMETIME))
        )
        with self.assertRaises(AlreadyCompleteError):
            await self.db.buildsets.completeBuildset(bsid, 0)
        # the first completion stands
        self.assertEqual((await self.db.buildsets.getBuildset(bsid)).results, 2)

    async def test_completeBuildset_explicit_time(self):
        await self.insert_test_data([fakedb.Buildset(id=5)])
        at = datetime.datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
        await self.db.buildsets.completeBuildset(5, 0, complete_at=at)
        self.assertEqual((await self.db.buildsets.getBuildset(5)).complete_at, at)

    async def test_completeBuildset_unknown(self):
        with self.assertRaises(AlreadyCompleteError):
            await self.db.buildsets.completeBuildset(999, 0)

    async def test_getBuildset_unknown(self):
        self.assertIsNone(await self.db.buildsets.getBuildset(999))

    async def test_getBuildsets(self):
        await self.insert_test_data(
            [
                fakedb.Buildset(id=3, complete=1, results=0, complete_at=SOMETIME),
                fakedb.Buildset(id=1, complete=0),
                fakedb.Buildset(id=2, complete=0),
                fakedb.BuildsetSourceStamp(id=20, buildsetid=2, sourcestampid=11),
                fakedb.BuildsetSourceStamp(id=21, buildsetid=2, sourcestampid=10),
            ]
        )
        all_bs = await self.db.buildsets.getBuildsets()
        self.assertEqual([bs.bsid for bs in all_bs], [1, 2, 3])
        self.assertEqual(all_bs[1].sourcestamps, [11, 10])
        self.assertEqual(all_bs[2].complete_at, epoch2datetime(SOMETIME))
        self.assertEqual(
            [bs.bsid for bs in await self.db.buildsets.getBuildsets(complete=True)], [3]
        )
        self.assertEqual(
            [bs.bsid for bs in await self.db.buildsets.getBuildsets(complete=False)], [1, 2]
        )

    async def test_getBuildsets_empty(self):
        self.assertEqual(await self.db.buildsets.getBuildsets(), [])

    async def _recent_data(self):
        await self.insert_test_data(
            [
                fakedb.Buildset(id=1, submitted_at=OTHERTIME + 1, complete=1),
                fakedb.Buildset(id=2, submitted_at=OTHERTIME + 3),
                fakedb.Buildset(id=3, submitted_at=OTHERTIME + 2),
                fakedb.Buildset(id=4, submitted_at=OTHERTIME + 4, complete=1),
                fakedb.BuildsetSourceStamp(buildsetid=1, sourcestampid=10),
                fakedb.BuildsetSourceStamp(buildsetid=2, sourcestampid=11),
                fakedb.BuildsetSourceStamp(buildsetid=3, sourcestampid=10),
                fakedb.BuildsetSourceStamp(buildsetid=3, sourcestampid=11),
                fakedb.BuildsetSourceStamp(buildsetid=4, sourcestampid=10),
            ]
        )

    async def test_getRecentBuildsets(self):
        await self._recent_data()

        async def recent(**kw):
            return [bs.bsid for bs in await self.db.buildsets.getRecentBuildsets(**kw)]

        self.assertEqual(await recent(), [1, 3, 2, 4])
        self.assertEqual(await recent(count=2), [2, 4])
        self.assertEqual(await recent(count=0), [])
        self.assertEqual(await recent(branch="main"), [1, 3, 4])
        self.assertEqual(await recent(branch="dev", count=1), [2])
        self.assertEqual(await recent(repository="repo-b"), [3, 2])
        self.assertEqual(await recent(branch="main", repository="repo-b"), [])
        self.assertEqual(await recent(complete=True), [1, 4])
        self.assertEqual(await recent(complete=False, branch="main"), [3])
        self.assertEqual(await recent(branch="nope"), [])
        (bs3,) = await self.db.buildsets.getRecentBuildsets(count=1, branch="main", complete=False)
        self.assertEqual(sorted(bs3.sourcestamps), [10, 11])

    async def test_getBuildsetProperties(self):
        await self.insert_test_data(
            [
                fakedb.Buildset(id=5),
                fakedb.BuildsetProperty(
                    buildsetid=5, property_name="a", property_value='[["x", 1], "src"]'
                ),
                fakedb.BuildsetProperty(buildsetid=5, property_name="b", property_value="not json"),
            ]
        )
        self.assertEqual(await self.db.buildsets.getBuildsetProperties(5), {"a": (["x", 1], "src")})
        self.assertEqual(await self.db.buildsets.getBuildsetProperties(999), {})


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
