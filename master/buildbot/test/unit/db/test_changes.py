"""The changes component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import json

import sqlalchemy as sa

from buildbot.db.changes import ChangeModel
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.util import epoch2datetime

SOMETIME = 1348971992
WHEN = 1266768000


def change_rows(changeid, ssid, parent=None, **kw):
    """A change with its own sourcestamp."""
    ss_kw = {k: kw[k] for k in ("branch", "revision", "codebase") if k in kw}
    return [
        fakedb.SourceStamp(id=ssid, **ss_kw),
        fakedb.Change(changeid=changeid, sourcestampid=ssid, parent_changeids=parent, **kw),
    ]


def build_rows(buildid, number, ssids, results=None, builderid=2):
    """A buildset made of those sourcestamps, its request and a build of it."""
    return [
        fakedb.Buildset(id=buildid),
        *[fakedb.BuildsetSourceStamp(buildsetid=buildid, sourcestampid=s) for s in ssids],
        fakedb.BuildRequest(id=buildid, buildsetid=buildid, builderid=builderid),
        fakedb.Build(
            id=buildid,
            number=number,
            buildrequestid=buildid,
            builderid=builderid,
            masterid=1,
            results=results,
        ),
    ]


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)

    async def _count(self, table):
        if self.backend == "fake":
            return len(self.db.tables.select(table))

        def thd(conn):
            t = self.db.model.metadata.tables[table]
            return conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()

        return await self.db.pool.do(thd)

    async def test_addChange_full(self):
        await self.insert_test_data([fakedb.User(uid=9, identifier="dustin")])
        changeid = await self.db.changes.addChange(
            author="dustin",
            committer="justin",
            files=["src/b.c", "src/a.c"],
            comments="fix spelling",
            revision="2d6caa52",
            when_timestamp=epoch2datetime(WHEN),
            branch="master",
            category="cat",
            revlink="http://x/2d6caa52",
            properties={"platform": ("linux", "Change"), "n": ([1, 2], "Change")},
            repository="git://repo",
            codebase="cb",
            project="proj",
            uid=9,
        )
        change = await self.db.changes.getChange(changeid)
        ss = await self.db.sourcestamps.getSourceStamp(change.sourcestampid)
        self.assertEqual(
            change,
            ChangeModel(
                changeid=changeid,
                author="dustin",
                committer="justin",
                comments="fix spelling",
                branch="master",
                revision="2d6caa52",
                revlink="http://x/2d6caa52",
                when_timestamp=epoch2datetime(WHEN),
                category="cat",
                sourcestampid=ss.ssid,
                parent_changeids=[],
                repository="git://repo",
                codebase="cb",
                project="proj",
                files=["src/a.c", "src/b.c"],
                properties={"platform": ("linux", "Change"), "n": ([1, 2], "Change")},
            ),
        )
        self.assertEqual(
            (ss.branch, ss.revision, ss.repository, ss.codebase, ss.project, ss.patch),
            ("master", "2d6caa52", "git://repo", "cb", "proj", None),
        )
        self.assertEqual(await self.db.changes.getChangeUids(changeid), [9])

    async def test_addChange_defaults(self):
        changeid = await self.db.changes.addChange(author="a", comments="c")
        change = await self.db.changes.getChange(changeid)
        self.assertEqual(change.when_timestamp, epoch2datetime(SOMETIME))
        self.assertEqual((change.files, change.properties, change.revlink), ([], {}, ""))
        self.assertEqual((change.repository, change.codebase, change.project), ("", "", ""))
        self.assertEqual(await self.db.changes.getChangeUids(changeid), [])

    async def test_addChange_properties_stored_as_json_pairs(self):
        changeid = await self.db.changes.addChange(
            author="a", comments="c", properties={"p": ({"k": 1}, "Change")}
        )
        if self.backend == "fake":
            rows = self.db.tables.select("change_properties")
        else:
            t = self.db.model.change_properties
            rows = await self.db.pool.do(lambda conn: list(conn.execute(t.select())))
            rows = [r._mapping for r in rows]
        self.assertEqual(
            [(r["changeid"], r["property_name"], json.loads(r["property_value"])) for r in rows],
            [(changeid, "p", [{"k": 1}, "Change"])],
        )

    async def test_addChange_parent_is_latest_on_same_line(self):
        kw = {"author": "a", "comments": "c", "repository": "r", "project": "p"}
        c1 = await self.db.changes.addChange(branch="main", revision="1", **kw)
        c2 = await self.db.changes.addChange(branch="main", revision="2", **kw)
        other_branch = await self.db.changes.addChange(branch="dev", revision="3", **kw)
        no_branch = await self.db.changes.addChange(branch=None, revision="4", **kw)
        no_branch2 = await self.db.changes.addChange(branch=None, revision="5", **kw)
        other_cb = await self.db.changes.addChange(branch="main", revision="6", codebase="x", **kw)
        c3 = await self.db.changes.addChange(branch="main", revision="7", **kw)
        parents = {
            cid: (await self.db.changes.getChange(cid)).parent_changeids
            for cid in (c1, c2, other_branch, no_branch, no_branch2, other_cb, c3)
        }
        self.assertEqual(
            parents,
            {
                c1: [],
                c2: [c1],
                other_branch: [],
                no_branch: [],
                no_branch2: [no_branch],
                other_cb: [],
                c3: [c2],
            },
        )

    async def test_addChange_reuses_sourcestamp(self):
        ssid = await self.db.sourcestamps.findSourceStampId(
            branch="b", revision="r", repository="repo", project="p", codebase=""
        )
        changeid = await self.db.changes.addChange(
            author="a", comments="c", branch="b", revision="r", repository="repo", project="p"
        )
        self.assertEqual((await self.db.changes.getChange(changeid)).sourcestampid, ssid)

    async def test_addChange_test_changeid(self):
        changeid = await self.db.changes.addChange(author="a", comments="c", _test_changeid=42)
        self.assertEqual(changeid, 42)
        self.assertEqual((await self.db.changes.getChange(42)).author, "a")

    async def test_addChange_failure_writes_nothing(self):
        await self.insert_test_data(change_rows(42, 1))
        with self.assertRaises(sa.exc.IntegrityError):
            await self.db.changes.addChange(
                author="a", comments="c", files=["f"], revision="new", _test_changeid=42
            )
        with self.assertRaises(sa.exc.IntegrityError):
            await self.db.changes.addChange(author=None, comments="c", revision="new2")
        self.assertEqual(await self._count("sourcestamps"), 1)
        self.assertEqual(await self._count("change_files"), 0)
        self.assertEqual(await self.db.changes.getChangesCount(), 1)

    async def test_addChange_too_long(self):
        with self.assertRaises(RuntimeError):
            await self.db.changes.addChange(author="a" * 300, comments="c")
        with self.assertRaises(RuntimeError):
            await self.db.changes.addChange(author="a", comments="c", files=["f" * 1100])
        with self.assertRaises(RuntimeError):
            await self.db.changes.addChange(
                author="a", comments="c", properties={"p" * 300: (1, "Change")}
            )
        self.assertEqual(await self.db.changes.getChangesCount(), 0)
        self.assertEqual(await self._count("sourcestamps"), 0)

    async def test_getChange_unknown(self):
        self.assertIsNone(await self.db.changes.getChange(999))

    async def test_getChange_from_rows(self):
        await self.insert_test_data(
            [
                *change_rows(13, 1, branch="b", revision="r", when_timestamp=WHEN),
                fakedb.ChangeFile(changeid=13, filename="z"),
                fakedb.ChangeFile(changeid=13, filename="a"),
                fakedb.ChangeProperty(
                    changeid=13, property_name="x", property_value='["y", "Change"]'
                ),
            ]
        )
        change = await self.db.changes.getChange(13)
        self.assertEqual(
            (change.files, change.properties, change.when_timestamp, change.sourcestampid),
            (["a", "z"], {"x": ("y", "Change")}, epoch2datetime(WHEN), 1),
        )

    async def test_getChangeFromSSid(self):
        await self.insert_test_data(
            [
                *change_rows(13, 1),
                fakedb.Change(changeid=14, sourcestampid=1),
                *change_rows(15, 2, revision="x"),
            ]
        )
        self.assertEqual((await self.db.changes.getChangeFromSSid(1)).changeid, 14)
        self.assertEqual((await self.db.changes.getChangeFromSSid(2)).changeid, 15)
        self.assertIsNone(await self.db.changes.getChangeFromSSid(99))

    async def test_getChangeUids(self):
        await self.insert_test_data(
            [
                *change_rows(13, 1),
                fakedb.User(uid=2, identifier="a"),
                fakedb.User(uid=1, identifier="b"),
                fakedb.ChangeUser(changeid=13, uid=2),
                fakedb.ChangeUser(changeid=13, uid=1),
            ]
        )
        self.assertEqual(await self.db.changes.getChangeUids(13), [1, 2])
        self.assertEqual(await self.db.changes.getChangeUids(99), [])

    async def test_getChanges_count_latest(self):
        self.assertEqual(await self.db.changes.getChanges(), [])
        self.assertEqual(await self.db.changes.getChangesCount(), 0)
        self.assertIsNone(await self.db.changes.getLatestChangeid())
        await self.insert_test_data(
            [
                *change_rows(15, 3, revision="c"),
                *change_rows(13, 1, revision="a"),
                *change_rows(14, 2, revision="b"),
                fakedb.ChangeFile(changeid=14, filename="f14"),
            ]
        )
        changes = await self.db.changes.getChanges()
        self.assertEqual([c.changeid for c in changes], [13, 14, 15])
        self.assertEqual(changes[1].files, ["f14"])
        page = await self.db.changes.getChanges(limit=1, offset=1)
        self.assertEqual([c.changeid for c in page], [14])
        self.assertEqual(await self.db.changes.getChangesCount(), 3)
        self.assertEqual(await self.db.changes.getLatestChangeid(), 15)

    async def test_pruneChanges(self):
        await self.insert_test_data(
            [
                fakedb.Scheduler(id=29, name="s"),
                fakedb.User(uid=1, identifier="u"),
                *change_rows(11, 1, revision="a"),
                *change_rows(12, 2, revision="b", parent=11),
                fakedb.ChangeFile(changeid=12, filename="f"),
                fakedb.ChangeProperty(changeid=12, property_name="p", property_value='[1, "C"]'),
                fakedb.ChangeUser(changeid=12, uid=1),
                fakedb.SchedulerChange(schedulerid=29, changeid=12, important=1),
                *change_rows(13, 3, revision="c", parent=12),
                fakedb.ChangeFile(changeid=13, filename="g"),
                fakedb.SchedulerChange(schedulerid=29, changeid=13, important=0),
                *change_rows(14, 4, revision="d", parent=13),
            ]
        )
        await self.db.changes.pruneChanges(None)
        await self.db.changes.pruneChanges(0)
        self.assertEqual(await self.db.changes.getChangesCount(), 4)
        await self.db.changes.pruneChanges(2)
        changes = await self.db.changes.getChanges()
        self.assertEqual([c.changeid for c in changes], [13, 14])
        self.assertEqual([c.parent_changeids for c in changes], [[], [13]])
        self.assertEqual(changes[0].files, ["g"])
        self.assertEqual(await self._count("change_files"), 1)
        self.assertEqual(await self._count("change_properties"), 0)
        self.assertEqual(await self._count("change_users"), 0)
        self.assertEqual(await self._count("scheduler_changes"), 1)
        # sourcestamps stay: builds may still refer to them
        self.assertEqual(await self._count("sourcestamps"), 4)
        await self.db.changes.pruneChanges(10)
        self.assertEqual(await self.db.changes.getChangesCount(), 2)

    async def test_pruneChanges_many(self):
        rows = []
        for i in range(1, 251):
            rows += change_rows(i, i, revision=str(i), parent=i - 1 if i > 1 else None)
            rows.append(fakedb.ChangeFile(changeid=i, filename="f"))
        await self.insert_test_data(rows)
        await self.db.changes.pruneChanges(5)
        self.assertEqual(
            [c.changeid for c in await self.db.changes.getChanges()], [246, 247, 248, 249, 250]
        )
        self.assertEqual(await self._count("change_files"), 5)

    async def _build_history(self):
        # change line on main: 1 <- 2 <- 3 <- 4, codebase "" ; build 100 (success) saw 1,
        # build 101 (failed) saw 2, build 102 sees 4
        rows = [fakedb.Master(id=1), fakedb.Builder(id=2, name="b")]
        for i in range(1, 5):
            rows += change_rows(
                i, i, parent=i - 1 if i > 1 else None, branch="main", revision=str(i)
            )
        rows += build_rows(100, 1, [1], results=0)
        rows += build_rows(101, 2, [2], results=2)
        rows += build_rows(102, 3, [4])
        await self.insert_test_data(rows)

    async def test_getChangesForBuild_since_last_success(self):
        await self._build_history()
        changes = await self.db.changes.getChangesForBuild(102)
        self.assertEqual([c.changeid for c in changes], [4, 3, 2])

    async def test_getChangesForBuild_no_previous_success(self):
        await self._build_history()
        self.assertEqual([c.changeid for c in await self.db.changes.getChangesForBuild(100)], [1])
        # build 101's previous success is 100: changes after 1
        self.assertEqual([c.changeid for c in await self.db.changes.getChangesForBuild(101)], [2])

    async def test_getChangesForBuild_unknown_or_changeless(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=1),
                fakedb.Builder(id=2, name="b"),
                fakedb.SourceStamp(id=7),
                *build_rows(100, 1, [7]),
            ]
        )
        self.assertEqual(await self.db.changes.getChangesForBuild(100), [])
        self.assertEqual(await self.db.changes.getChangesForBuild(999), [])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
