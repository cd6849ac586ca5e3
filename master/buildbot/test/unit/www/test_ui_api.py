"""`ui-api/builders`: every builder with its latest builds and its running and pending
counts in one request, as REST formats them, with a number of DB queries that does
not grow with the number of builders; access checked as for REST `builders`."""

from __future__ import annotations

import sqlalchemy as sa
from twisted.trial import unittest

from buildbot.db.ui_summary import get_builders_summary
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.www.authz import Authz
from buildbot.www.authz.endpointmatchers import AnyEndpointMatcher


def rows(n_builders: int, builds_each: int) -> list:
    out: list = [
        fakedb.Master(id=1),
        fakedb.Worker(id=1, name="w"),
        fakedb.Buildset(id=1),
    ]
    brid = buildid = 0
    for builderid in range(1, n_builders + 1):
        out.append(fakedb.Builder(id=builderid, name=f"b{builderid}"))
        for number in range(1, builds_each + 1):
            brid += 1
            buildid += 1
            out.append(fakedb.BuildRequest(id=brid, buildsetid=1, builderid=builderid, complete=1))
            out.append(
                fakedb.Build(
                    id=buildid,
                    number=number,
                    builderid=builderid,
                    buildrequestid=brid,
                    workerid=1,
                    masterid=1,
                    results=0,
                    complete_at=1304262300,
                )
            )
    return out


class UiApiTests(WwwMixin):
    """Run on every back-end: the recent-builds query differs by dialect."""

    async def get_ui(self, query=""):
        return await self.request("GET", f"ui-api/builders{query}")

    async def test_builders_with_recent_builds(self):
        data = rows(2, 7)
        data += [
            # builder 1: one running build (the newest) and two waiting requests, one
            # of them claimed (so not pending)
            fakedb.BuildRequest(id=100, buildsetid=1, builderid=1),
            fakedb.BuildRequestClaim(brid=100, masterid=1, claimed_at=1),
            fakedb.Build(id=100, number=8, builderid=1, buildrequestid=100, workerid=1, masterid=1),
            fakedb.BuildRequest(id=101, buildsetid=1, builderid=1),
            fakedb.BuildRequest(id=102, buildsetid=1, builderid=1),
            fakedb.BuildRequestClaim(brid=102, masterid=1, claimed_at=1),
            fakedb.Builder(id=3, name="idle"),
        ]
        await self.insert_test_data(data)
        res = await self.get_ui()
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("content-type"), "application/json; charset=utf-8")
        body = res.json()
        self.assertEqual(body["meta"], {})
        b1, b2, idle = body["builders"]
        rest_builders = (await self.get("builders")).json()["builders"]
        for ui_b, rest_b in zip(body["builders"], rest_builders, strict=True):
            self.assertEqual({k: ui_b[k] for k in rest_b}, rest_b)
        self.assertEqual([b["number"] for b in b1["recent_builds"]], [8, 7, 6, 5, 4])
        self.assertEqual([b["number"] for b in b2["recent_builds"]], [7, 6, 5, 4, 3])
        self.assertEqual((b1["running"], b1["pending"]), (1, 1))
        self.assertEqual((b2["running"], b2["pending"]), (0, 0))
        self.assertEqual((idle["recent_builds"], idle["running"], idle["pending"]), ([], 0, 0))
        # build entities exactly as REST gives them
        rest_build = (await self.get("builds/100")).json()["builds"][0]
        self.assertEqual(b1["recent_builds"][0], rest_build)
        self.assertIsNone(rest_build["complete_at"])
        rest_build = (await self.get("builds/4")).json()["builds"][0]
        self.assertEqual(b1["recent_builds"][4], rest_build)

    async def test_builds_parameter(self):
        await self.insert_test_data(rows(1, 60))
        numbers = lambda body: [b["number"] for b in body["builders"][0]["recent_builds"]]  # noqa: E731
        self.assertEqual(numbers((await self.get_ui("?builds=2")).json()), [60, 59])
        self.assertEqual(len(numbers((await self.get_ui("?builds=50")).json())), 50)
        self.assertEqual(numbers((await self.get_ui("?builds=0")).json()), [])
        for bad in ("51", "-1", "x"):
            res = await self.get_ui(f"?builds={bad}")
            self.assertEqual(res.code, 400, bad)
            self.assertIn("builds", res.json()["error"])

    async def test_query_count_does_not_grow_with_builders(self):
        engine = self.db.pool.engine
        counts = []
        for n_builders in (2, 20):
            await self.db.pool.do(db.thd_empty_tables)
            await self.insert_test_data(rows(n_builders, 3))
            statements: list[str] = []

            def count(conn, cursor, statement, *args, s=statements):
                s.append(statement)

            sa.event.listen(engine, "before_cursor_execute", count)
            try:
                res = await self.get_ui()
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)
            self.assertEqual(len(res.json()["builders"]), n_builders)
            counts.append(len(statements))
        self.assertEqual(counts[0], counts[1])
        self.assertLessEqual(counts[0], 10)

    async def test_denied_like_rest_builders(self):
        await self.insert_test_data(rows(1, 1))
        authz = Authz(allowRules=[AnyEndpointMatcher(role="admins")], roleMatchers=[])
        await self.reconfig_www(authz=authz)
        res = await self.get_ui()
        self.assertEqual(res.code, 403)
        self.assertEqual(res.json(), (await self.get("builders")).json())
        self.assertEqual((await self.get("builders")).code, 403)

    async def test_internal_error(self):
        async def broken(path):
            raise RuntimeError("db down")

        self.patch(self.master.data, "get", broken)
        res = await self.get_ui()
        self.assertEqual(res.code, 500)
        self.assertIn("db down", res.json()["error"])
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_summary_function(self):
        await self.insert_test_data(rows(2, 2))
        summary = await get_builders_summary(self.db, 1)
        self.assertEqual(sorted(summary), [1, 2])
        self.assertEqual([b.number for b in summary[2].recent_builds], [2])
        self.assertEqual(summary[2].recent_builds[0].id, 4)
        empty = await get_builders_summary(self.db, 0)
        self.assertEqual(empty, {})


class UiApiSQLite(UiApiTests, db.SQLiteDBMixin, unittest.TestCase):
    pass


class UiApiPostgreSQL(UiApiTests, db.PostgreSQLDBMixin, unittest.TestCase):
    pass


class UiApiMySQL(UiApiTests, db.MySQLDBMixin, unittest.TestCase):
    pass
