"""The sourcestamps component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import base64
import hashlib

from buildbot.db.sourcestamps import PatchModel, SourceStampModel
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.util import epoch2datetime

SOMETIME = 1348971992
CREATED = 89834834


def build_chain(buildsetid=10, buildid=50, ssids=(), brid=20):
    """A buildset with those sourcestamps, one request and one build of it."""
    return [
        fakedb.Master(id=1),
        fakedb.Builder(id=2, name="b"),
        fakedb.Buildset(id=buildsetid),
        *[fakedb.BuildsetSourceStamp(buildsetid=buildsetid, sourcestampid=ssid) for ssid in ssids],
        fakedb.BuildRequest(id=brid, buildsetid=buildsetid, builderid=2),
        fakedb.Build(id=buildid, buildrequestid=brid, builderid=2, masterid=1),
    ]


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: SOMETIME)

    async def test_findSourceStampId_new(self):
        ssid = await self.db.sourcestamps.findSourceStampId(
            branch="master", revision="abcd", repository="repo", project="proj", codebase="cb"
        )
        self.assertEqual(
            await self.db.sourcestamps.getSourceStamp(ssid),
            SourceStampModel(
                ssid=ssid,
                branch="master",
                revision="abcd",
                repository="repo",
                created_at=epoch2datetime(SOMETIME),
                codebase="cb",
                project="proj",
                patch=None,
            ),
        )

    async def test_findSourceStampId_deduplicates(self):
        kw = {"branch": "b", "revision": "r", "repository": "repo", "project": "p"}
        ssid = await self.db.sourcestamps.findSourceStampId(**kw)
        self.assertEqual(await self.db.sourcestamps.findSourceStampId(**kw), ssid)
        other = await self.db.sourcestamps.findSourceStampId(**{**kw, "revision": None})
        self.assertNotEqual(other, ssid)
        self.assertEqual(len(await self.db.sourcestamps.getSourceStamps()), 2)

    async def test_findSourceStampId_none_strings_are_empty(self):
        ssid = await self.db.sourcestamps.findSourceStampId()
        ss = await self.db.sourcestamps.getSourceStamp(ssid)
        self.assertEqual(
            (ss.branch, ss.revision, ss.repository, ss.project, ss.codebase),
            (None, None, "", "", ""),
        )
        self.assertEqual(
            await self.db.sourcestamps.findSourceStampId(repository="", project="", codebase=""),
            ssid,
        )

    async def test_findSourceStampId_matches_existing_hash(self):
        # a row written by Buildbot 4.3: NUL-joined fields, None as byte 0xF5
        ss_hash = hashlib.sha1(b"br\0rev\0repo\0proj\0\0\xf5").hexdigest()
        await self.insert_test_data(
            [
                fakedb.SourceStamp(
                    id=7,
                    branch="br",
                    revision="rev",
                    repository="repo",
                    project="proj",
                    ss_hash=ss_hash,
                )
            ]
        )
        ssid = await self.db.sourcestamps.findSourceStampId(
            branch="br", revision="rev", repository="repo", project="proj", codebase=""
        )
        self.assertEqual(ssid, 7)

    async def test_findSourceStampId_patch(self):
        body = b"diff --git a/f b/f\n\xff binary\n"
        kw = {
            "branch": "b",
            "revision": "r",
            "repository": "repo",
            "patch_body": body,
            "patch_level": 1,
            "patch_author": "me",
            "patch_comment": "try this",
            "patch_subdir": "sub",
        }
        ssid = await self.db.sourcestamps.findSourceStampId(**kw)
        ss = await self.db.sourcestamps.getSourceStamp(ssid)
        self.assertEqual(
            ss.patch,
            PatchModel(
                patchid=ss.patch.patchid,
                body=body,
                level=1,
                author="me",
                comment="try this",
                subdir="sub",
            ),
        )
        # the same patch again is a new sourcestamp
        ssid2 = await self.db.sourcestamps.findSourceStampId(**kw)
        self.assertNotEqual(ssid2, ssid)
        # and a patchless one is yet another
        ssid3 = await self.db.sourcestamps.findSourceStampId(
            branch="b", revision="r", repository="repo"
        )
        self.assertNotIn(ssid3, (ssid, ssid2))

    async def test_patch_stored_base64(self):
        await self.insert_test_data(
            [
                fakedb.Patch(
                    id=3,
                    patchlevel=2,
                    patch_base64=base64.b64encode(b"hello").decode(),
                    patch_author="a",
                    patch_comment="c",
                ),
                fakedb.SourceStamp(id=4, patchid=3, created_at=CREATED),
            ]
        )
        ss = await self.db.sourcestamps.getSourceStamp(4)
        self.assertEqual(ss.patch, PatchModel(3, b"hello", 2, "a", "c", None))
        self.assertEqual(ss.created_at, epoch2datetime(CREATED))

    async def test_findSourceStampId_too_long(self):
        with self.assertRaises(RuntimeError):
            await self.db.sourcestamps.findSourceStampId(branch="x" * 300)
        self.assertEqual(await self.db.sourcestamps.getSourceStamps(), [])

    async def test_getSourceStamp_unknown(self):
        self.assertIsNone(await self.db.sourcestamps.getSourceStamp(999))

    async def test_getSourceStamps(self):
        await self.insert_test_data(
            [
                fakedb.SourceStamp(id=5, branch="b5", revision="r5"),
                fakedb.SourceStamp(id=3, branch="b3", revision="r3", codebase="cb"),
            ]
        )
        sss = await self.db.sourcestamps.getSourceStamps()
        self.assertEqual(
            [(s.ssid, s.branch, s.codebase) for s in sss], [(3, "b3", "cb"), (5, "b5", "")]
        )

    async def test_get_sourcestamps_for_buildset(self):
        await self.insert_test_data(
            [
                fakedb.SourceStamp(id=5, branch="b5"),
                fakedb.SourceStamp(id=6, branch="b6"),
                fakedb.SourceStamp(id=7, branch="b7"),
                fakedb.Buildset(id=11),
                fakedb.BuildsetSourceStamp(buildsetid=11, sourcestampid=7),
                *build_chain(ssids=(6, 5)),
            ]
        )
        sss = await self.db.sourcestamps.get_sourcestamps_for_buildset(10)
        self.assertEqual([s.ssid for s in sss], [5, 6])
        self.assertEqual(await self.db.sourcestamps.get_sourcestamps_for_buildset(99), [])

    async def test_getSourceStampsForBuild(self):
        await self.insert_test_data(
            [
                fakedb.SourceStamp(id=5, branch="b5"),
                fakedb.SourceStamp(id=6, branch="b6", codebase="other"),
                *build_chain(ssids=(5, 6)),
            ]
        )
        sss = await self.db.sourcestamps.getSourceStampsForBuild(50)
        self.assertEqual([(s.ssid, s.codebase) for s in sss], [(5, ""), (6, "other")])
        self.assertEqual(await self.db.sourcestamps.getSourceStampsForBuild(999), [])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
