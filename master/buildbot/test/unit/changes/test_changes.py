"""Change: built from the DB's ChangeModel (or a change dict) and its views."""

import datetime

from twisted.trial import unittest

from buildbot.changes.changes import Change
from buildbot.process.properties import Properties
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import UTC


class ChangeTests(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True)

    async def stored(self):
        changeid = await self.master.db.changes.addChange(
            author="dev <dev@x>",
            committer="ci",
            files=["b.c", "a.c"],
            comments="fix it",
            revision="abc",
            when_timestamp=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            branch="main",
            category="cat",
            revlink="http://x/abc",
            properties={"p": ("v", "Change"), "n": (1, "Hook")},
            repository="repo",
            codebase="cb",
            project="proj",
        )
        return await self.master.db.changes.getChange(changeid)

    async def test_fromChdict_of_a_model(self):
        model = await self.stored()
        c = await Change.fromChdict(self.master, model)
        self.assertEqual(c.number, model.changeid)
        self.assertEqual(c.changeid, model.changeid)
        self.assertEqual((c.who, c.author, c.committer), ("dev <dev@x>", "dev <dev@x>", "ci"))
        self.assertEqual(c.comments, "fix it")
        self.assertEqual(c.files, ["a.c", "b.c"])
        self.assertEqual(c.revision, "abc")
        self.assertEqual(c.when, 1704164645)
        self.assertEqual((c.branch, c.category, c.revlink), ("main", "cat", "http://x/abc"))
        self.assertEqual((c.repository, c.codebase, c.project), ("repo", "cb", "proj"))
        self.assertEqual(c.sourcestampid, model.sourcestampid)
        self.assertIsInstance(c.properties, Properties)
        self.assertEqual(c.properties.getProperty("p"), "v")
        self.assertEqual(c.properties.getPropertySource("n"), "Hook")
        self.assertEqual(c.isdir, 0)
        self.assertEqual(c.links, [])

    async def test_fromChdict_of_a_data_api_dict(self):
        await self.master.db.insert_test_data(
            [fakedb.SourceStamp(id=9), fakedb.Change(changeid=4, sourcestampid=9)]
        )
        chdict = {
            "changeid": 4,
            "author": "a",
            "files": ["x"],
            "comments": "c",
            "when_timestamp": 100,
            "properties": {"p": ("v", "Change")},
            "sourcestamp": {"ssid": 9},
            "parent_changeids": [3],
        }
        c = await Change.fromChdict(self.master, chdict)
        self.assertEqual((c.number, c.when, c.sourcestampid), (4, 100, 9))
        self.assertEqual(c.parent_changeids, [3])
        self.assertEqual(c.repository, "")

    async def test_fromChdict_failure_is_a_failed_deferred(self):
        with self.assertRaises(ValueError):
            await Change.fromChdict(self.master, {"properties": {"p": "not a pair!"}})

    async def test_asChDict_round_trips(self):
        model = await self.stored()
        c = await Change.fromChdict(self.master, model)
        d = c.asChDict()
        self.assertEqual(d["changeid"], model.changeid)
        self.assertEqual(d["author"], "dev <dev@x>")
        self.assertEqual(d["when_timestamp"], 1704164645)
        self.assertEqual(d["properties"], {"p": ("v", "Change"), "n": (1, "Hook")})
        self.assertEqual(d["sourcestampid"], model.sourcestampid)
        again = await Change.fromChdict(self.master, d)
        self.assertEqual(again.asChDict(), d)

    async def test_asDict(self):
        c = await Change.fromChdict(self.master, await self.stored())
        d = c.asDict()
        self.assertEqual(d["number"], c.number)
        self.assertEqual(d["who"], "dev <dev@x>")
        self.assertEqual(d["rev"], "abc")
        self.assertEqual(d["files"], [{"name": "a.c"}, {"name": "b.c"}])
        self.assertIn(("p", "v", "Change"), d["properties"])
        self.assertIsInstance(d["at"], str)

    def test_constructed_directly(self):
        c = Change("me", ["z", "a"], "msg", properties={"x": 1}, when=5, revlink=None)
        self.assertEqual(c.files, ["a", "z"])
        self.assertEqual(c.properties.getPropertySource("x"), "Change")
        self.assertEqual(c.revlink, "")
        self.assertIsNone(c.number)
        self.assertEqual(c.getTimes(), (5, None))
        self.assertEqual(c.getText(), ["me"])
        self.assertEqual(c.getShortAuthor(), "me")
        self.assertEqual(c.getLogs(), {})
        self.assertIn("who='me'", repr(c))
        self.assertIn("msg", str(c))
        self.assertIn("  a\n", str(c))
        self.assertGreater(Change("me", [], "").when, 0)
        self.assertEqual(Change("me", [], "", when=0).getTime(), "?")
