"""The buildrequests component: one suite for the fake, SQLite, PostgreSQL and MySQL,
and a claim race between two masters on the real back-ends."""

import datetime
import random

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.db import connector
from buildbot.db.buildrequests import AlreadyClaimedError, BuildRequestModel, NotClaimedError
from buildbot.process.results import FAILURE, RETRY, SUCCESS
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.unit.db.test_buildsets import read_table
from buildbot.test.util import db
from buildbot.util import UTC, epoch2datetime

SOMETIME = 1348971992
SUBMITTED = 1300000000
ME, OTHER = 1, 2


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)
        self.master.masterid = ME
        await self.insert_test_data(
            [
                fakedb.Master(id=ME, name="me:/m"),
                fakedb.Master(id=OTHER, name="other:/m"),
                fakedb.Builder(id=1, name="b1"),
                fakedb.Builder(id=2, name="b2"),
                fakedb.SourceStamp(id=20, branch="main", repository="repo-a"),
                fakedb.SourceStamp(id=21, branch="dev", repository="repo-b"),
                fakedb.Buildset(id=10),
                fakedb.Buildset(id=11),
                fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=20),
                fakedb.BuildsetSourceStamp(buildsetid=11, sourcestampid=20),
                fakedb.BuildsetSourceStamp(buildsetid=11, sourcestampid=21),
            ]
        )

    async def _requests(self):
        """44 unclaimed, 45 mine, 46 other's, 47 complete (mine) - on builder 1 or 2."""
        await self.insert_test_data(
            [
                fakedb.BuildRequest(id=44, buildsetid=10, builderid=1, submitted_at=SUBMITTED),
                fakedb.BuildRequest(id=45, buildsetid=10, builderid=2, priority=3),
                fakedb.BuildRequest(id=46, buildsetid=11, builderid=1),
                fakedb.BuildRequest(
                    id=47,
                    buildsetid=11,
                    builderid=2,
                    complete=1,
                    results=FAILURE,
                    complete_at=SOMETIME - 5,
                    waited_for=1,
                ),
                fakedb.BuildRequestClaim(brid=45, masterid=ME, claimed_at=SOMETIME - 10),
                fakedb.BuildRequestClaim(brid=46, masterid=OTHER, claimed_at=SOMETIME - 20),
                fakedb.BuildRequestClaim(brid=47, masterid=ME, claimed_at=SOMETIME - 30),
            ]
        )

    async def ids(self, **kw):
        return [br.buildrequestid for br in await self.db.buildrequests.getBuildRequests(**kw)]

    async def test_getBuildRequest(self):
        await self._requests()
        self.assertEqual(
            await self.db.buildrequests.getBuildRequest(44),
            BuildRequestModel(
                buildrequestid=44,
                buildsetid=10,
                builderid=1,
                buildername="b1",
                submitted_at=epoch2datetime(SUBMITTED),
            ),
        )
        br = await self.db.buildrequests.getBuildRequest(47)
        self.assertEqual(
            br,
            BuildRequestModel(
                buildrequestid=47,
                buildsetid=11,
                builderid=2,
                buildername="b2",
                submitted_at=epoch2datetime(12345678),
                complete_at=epoch2datetime(SOMETIME - 5),
                complete=True,
                results=FAILURE,
                waited_for=True,
                claimed_at=epoch2datetime(SOMETIME - 30),
                claimed_by_masterid=ME,
            ),
        )
        self.assertTrue(br.claimed)
        self.assertFalse((await self.db.buildrequests.getBuildRequest(44)).claimed)
        self.assertEqual((await self.db.buildrequests.getBuildRequest(45)).priority, 3)

    async def test_getBuildRequest_unknown(self):
        self.assertIsNone(await self.db.buildrequests.getBuildRequest(999))

    async def test_getBuildRequests_filters(self):
        await self._requests()
        self.assertEqual(await self.ids(), [44, 45, 46, 47])
        self.assertEqual(await self.ids(builderid=1), [44, 46])
        self.assertEqual(await self.ids(complete=True), [47])
        self.assertEqual(await self.ids(complete=False), [44, 45, 46])
        self.assertEqual(await self.ids(claimed=True), [45, 46, 47])
        self.assertEqual(await self.ids(claimed=False), [44])
        self.assertEqual(await self.ids(claimed=ME), [45, 47])
        self.assertEqual(await self.ids(claimed=OTHER), [46])
        self.assertEqual(await self.ids(claimed=99), [])
        self.assertEqual(await self.ids(bsid=11), [46, 47])
        self.assertEqual(await self.ids(branch="main"), [44, 45, 46, 47])
        self.assertEqual(await self.ids(branch="dev"), [46, 47])
        self.assertEqual(await self.ids(repository="repo-b", complete=False), [46])
        self.assertEqual(await self.ids(branch="main", repository="repo-b"), [])
        self.assertEqual(await self.ids(builderid=2, claimed=ME, complete=False), [45])

    async def test_getBuildRequests_empty(self):
        self.assertEqual(await self.db.buildrequests.getBuildRequests(), [])

    async def test_claimBuildRequests(self):
        await self._requests()
        await self.insert_test_data([fakedb.BuildRequest(id=48, buildsetid=10, builderid=1)])
        await self.db.buildrequests.claimBuildRequests([44, 48, 44])
        for brid in (44, 48):
            br = await self.db.buildrequests.getBuildRequest(brid)
            self.assertEqual(
                (br.claimed, br.claimed_at, br.claimed_by_masterid),
                (True, epoch2datetime(SOMETIME), ME),
            )

    async def test_claimBuildRequests_explicit_time(self):
        await self._requests()
        at = datetime.datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC)
        await self.db.buildrequests.claimBuildRequests([44], claimed_at=at)
        self.assertEqual((await self.db.buildrequests.getBuildRequest(44)).claimed_at, at)

    async def test_claimBuildRequests_empty(self):
        await self.db.buildrequests.claimBuildRequests([])
        self.assertEqual(await read_table(self, "buildrequest_claims"), [])

    async def test_claimBuildRequests_all_or_nothing(self):
        await self._requests()
        before = await read_table(self, "buildrequest_claims")
        # 46 is the other master's, 45 already ours: neither 44 nor anything else is claimed
        for brids in ([44, 46], [46, 44], [44, 45]):
            with self.assertRaises(AlreadyClaimedError):
                await self.db.buildrequests.claimBuildRequests(brids)
            self.assertEqual(await read_table(self, "buildrequest_claims"), before)
        self.assertEqual(await self.ids(claimed=False), [44])

    async def test_unclaimBuildRequests(self):
        await self._requests()
        await self.db.buildrequests.unclaimBuildRequests([44, 45, 46])
        # only our claim goes; the other master's stays
        self.assertEqual(await self.ids(claimed=False), [44, 45])
        self.assertEqual(await self.ids(claimed=OTHER), [46])
        await self.db.buildrequests.unclaimBuildRequests([])
        await self.db.buildrequests.claimBuildRequests([45])
        self.assertEqual(await self.ids(claimed=ME), [45, 47])

    async def test_unclaim_many(self):
        brids = list(range(100, 350))
        await self.insert_test_data(
            [fakedb.BuildRequest(id=i, buildsetid=10, builderid=1) for i in brids]
        )
        await self.db.buildrequests.claimBuildRequests(brids)
        self.assertEqual(len(await self.ids(claimed=ME)), len(brids))
        await self.db.buildrequests.completeBuildRequests(brids[:120], SUCCESS)
        await self.db.buildrequests.unclaimBuildRequests(brids)
        self.assertEqual(await self.ids(claimed=False), brids[120:])

    async def test_completeBuildRequests(self):
        await self._requests()
        await self.db.buildrequests.completeBuildRequests([45], SUCCESS)
        br = await self.db.buildrequests.getBuildRequest(45)
        self.assertEqual(
            (br.complete, br.results, br.complete_at, br.claimed_by_masterid),
            (True, SUCCESS, epoch2datetime(SOMETIME), ME),
        )
        at = datetime.datetime(2022, 2, 3, 4, 5, 6, tzinfo=UTC)
        await self.db.buildrequests.claimBuildRequests([44])
        await self.db.buildrequests.completeBuildRequests([44], FAILURE, complete_at=at)
        self.assertEqual((await self.db.buildrequests.getBuildRequest(44)).complete_at, at)

    async def test_completeBuildRequests_all_or_nothing(self):
        await self._requests()
        await self.insert_test_data(
            [
                fakedb.BuildRequest(id=48, buildsetid=10, builderid=1),
                fakedb.BuildRequestClaim(brid=48, masterid=ME, claimed_at=SOMETIME),
            ]
        )
        # 44 unclaimed, 46 the other master's, 47 already complete, 999 unknown
        for bad in (44, 46, 47, 999):
            with self.assertRaises(NotClaimedError):
                await self.db.buildrequests.completeBuildRequests([48, 45, bad], SUCCESS)
        self.assertEqual(await self.ids(complete=True), [47])
        self.assertEqual((await self.db.buildrequests.getBuildRequest(47)).results, FAILURE)

    async def test_completeBuildRequests_retry_refused(self):
        await self._requests()
        with self.assertRaises(ValueError):
            await self.db.buildrequests.completeBuildRequests([45], RETRY)
        self.assertFalse((await self.db.buildrequests.getBuildRequest(45)).complete)

    async def test_set_build_requests_priority(self):
        await self._requests()
        await self.db.buildrequests.set_build_requests_priority([44, 45, 46], 12)
        # setting the same value again is no failure
        await self.db.buildrequests.set_build_requests_priority([44, 45, 46], 12)
        for brid in (44, 45, 46):
            self.assertEqual((await self.db.buildrequests.getBuildRequest(brid)).priority, 12)
        with self.assertRaises(NotClaimedError):
            await self.db.buildrequests.set_build_requests_priority([44, 47], 1)
        with self.assertRaises(NotClaimedError):
            await self.db.buildrequests.set_build_requests_priority([44, 999], 1)
        self.assertEqual((await self.db.buildrequests.getBuildRequest(44)).priority, 12)
        self.assertEqual((await self.db.buildrequests.getBuildRequest(47)).priority, 0)

    async def test_releaseClaimsForMaster(self):
        await self._requests()
        await self.insert_test_data(
            [
                fakedb.BuildRequest(id=48, buildsetid=10, builderid=1),
                fakedb.BuildRequestClaim(brid=48, masterid=OTHER, claimed_at=SOMETIME),
            ]
        )
        self.assertEqual(await self.db.buildrequests.releaseClaimsForMaster(OTHER), [46, 48])
        self.assertEqual(await self.ids(claimed=False), [44, 46, 48])
        self.assertEqual(await self.db.buildrequests.releaseClaimsForMaster(OTHER), [])
        # a complete request keeps its claim
        self.assertEqual(await self.db.buildrequests.releaseClaimsForMaster(ME), [45])
        self.assertEqual(await self.ids(claimed=ME), [47])
        self.assertEqual(await self.db.buildrequests.releaseClaimsForMaster(99), [])

    async def test_addBuildset_requests_are_readable(self):
        bsid, brids = await self.db.buildsets.addBuildset([20], "r", {}, [2, 1], waited_for=True)
        reqs = await self.db.buildrequests.getBuildRequests(bsid=bsid)
        self.assertEqual(
            [(r.buildrequestid, r.builderid, r.buildername, r.waited_for, r.results) for r in reqs],
            sorted((brids[b], b, f"b{b}", True, -1) for b in (1, 2)),
        )


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)


class ClaimRace:
    """Two masters, each with its own connector and thread pool, claim
    overlapping sets of requests at the same time."""

    requests = 60
    rounds = 4

    async def setUp(self):
        await super().setUp()
        from twisted.internet import reactor

        self.master.masterid = 1
        self.master2 = fakemaster.make_master(self, reactor=reactor, masterid=2)
        db2 = connector.DBConnector(self.master2.basedir)
        await db2.setServiceParent(self.master2)
        await db2.setup(db_url=self.db.configured_url)
        self.addCleanup(db2.pool.shutdown)
        self.master2.db = db2
        self.dbs = {1: self.db, 2: db2}
        await self.insert_test_data(
            [
                fakedb.Master(id=1, name="m1:/a"),
                fakedb.Master(id=2, name="m2:/b"),
                fakedb.Builder(id=1, name="b1"),
                fakedb.Buildset(id=1),
            ]
            + [
                fakedb.BuildRequest(id=i, buildsetid=1, builderid=1)
                for i in range(1, self.requests + 1)
            ]
        )

    async def _claims(self):
        return {r["brid"]: r["masterid"] for r in await read_table(self, "buildrequest_claims")}

    async def test_claim_race(self):
        rng = random.Random(4321)
        brids = list(range(1, self.requests + 1))
        losers = set()
        for _ in range(self.rounds):
            calls = []  # (masterid, brids, Deferred)
            for _ in range(12):
                for masterid in (1, 2):
                    start = rng.randrange(len(brids))
                    chosen = (
                        rng.sample(brids[start : start + 15] or brids, k=1)
                        + brids[start : start + rng.randint(1, 10)]
                    )
                    d = self.dbs[masterid].buildrequests.claimBuildRequests(chosen)
                    calls.append((masterid, set(chosen), d))
            results = await defer.DeferredList([d for _, _, d in calls], consumeErrors=True)

            expected: dict[int, int] = {}
            for (masterid, chosen, _), (ok, value) in zip(calls, results, strict=True):
                if ok:
                    for brid in chosen:
                        # two successful calls never share a request
                        self.assertNotIn(brid, expected)
                        expected[brid] = masterid
                else:
                    value.trap(AlreadyClaimedError)
                    losers.add(masterid)
            # exactly the successful calls' claims exist: no failed call left any
            self.assertEqual(await self._claims(), expected)

            # everything still free is fought over one by one: one winner each
            free = [b for b in brids if b not in expected]
            singles = [
                (masterid, brid, self.dbs[masterid].buildrequests.claimBuildRequests([brid]))
                for brid in free
                for masterid in (1, 2)
            ]
            results = await defer.DeferredList([d for _, _, d in singles], consumeErrors=True)
            winners: dict[int, list[int]] = {}
            for (masterid, brid, _), (ok, value) in zip(singles, results, strict=True):
                if ok:
                    winners.setdefault(brid, []).append(masterid)
                else:
                    value.trap(AlreadyClaimedError)
            self.assertEqual(sorted(winners), free)
            self.assertTrue(all(len(w) == 1 for w in winners.values()))
            claims = await self._claims()
            self.assertEqual(sorted(claims), brids)
            self.assertEqual({b: m for b, (m,) in winners.items()}, {b: claims[b] for b in free})

            # each master sees its own claims, then gives them up for the next round
            for masterid in (1, 2):
                mine = await self.db.buildrequests.getBuildRequests(claimed=masterid)
                self.assertEqual(
                    [br.buildrequestid for br in mine],
                    sorted(b for b, m in claims.items() if m == masterid),
                )
            await defer.gatherResults(
                [self.dbs[m].buildrequests.unclaimBuildRequests(brids) for m in (1, 2)]
            )
            self.assertEqual(await self._claims(), {})
        self.assertEqual(losers, {1, 2})


class ClaimRaceSQLite(ClaimRace, db.SQLiteDBMixin, unittest.TestCase):
    pass


class ClaimRacePostgreSQL(ClaimRace, db.PostgreSQLDBMixin, unittest.TestCase):
    pass


class ClaimRaceMySQL(ClaimRace, db.MySQLDBMixin, unittest.TestCase):
    pass
