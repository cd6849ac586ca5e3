from __future__ import annotations

from twisted.trial import unittest

from buildbot.test.fake.fakemaster import make_master
from buildbot.test.reactor import TestReactorMixin
from buildbot.util.state import StateMixin


class Poller(StateMixin):
    def __init__(self, master, name):
        self.master = master
        self.name = name


class OtherPoller(Poller):
    pass


class TestStateMixin(TestReactorMixin, unittest.TestCase):
    def setUp(self):
        self.setup_test_reactor()
        self.master = make_master(self, wantDb=True)

    async def test_set_then_get(self):
        p = Poller(self.master, "p1")
        await p.setState("last", {"refs/heads/main": "abc"})
        self.assertEqual(await p.getState("last"), {"refs/heads/main": "abc"})
        # a new instance with the same name and class finds the value
        self.assertEqual(
            await Poller(self.master, "p1").getState("last"), {"refs/heads/main": "abc"}
        )

    async def test_default_and_missing(self):
        p = Poller(self.master, "p1")
        self.assertEqual(await p.getState("nothing", 7), 7)
        with self.assertRaises(KeyError):
            await p.getState("nothing")

    async def test_objects_keyed_by_name_and_class(self):
        await Poller(self.master, "p1").setState("k", 1)
        await Poller(self.master, "p2").setState("k", 2)
        await OtherPoller(self.master, "p1").setState("k", 3)
        self.assertEqual(await Poller(self.master, "p1").getState("k"), 1)
        self.assertEqual(await Poller(self.master, "p2").getState("k"), 2)
        self.assertEqual(await OtherPoller(self.master, "p1").getState("k"), 3)
        objectid = await self.master.db.state.getObjectId("p1", "OtherPoller")
        self.assertEqual(await self.master.db.state.getState(objectid, "k"), 3)
