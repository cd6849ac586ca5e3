"""SingleBranchScheduler and AnyBranchScheduler: configuration, immediate builds,
tree-stable timers, classifications kept in the DB across a restart (on the fake
DB and on SQLite), absolute sourcestamps."""

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot import config
from buildbot.changes.filter import ChangeFilter
from buildbot.data.connector import DataConnector
from buildbot.schedulers.basic import AnyBranchScheduler, SingleBranchScheduler
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.fake.fakemq import FakeMQConnector
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.util import db
from buildbot.util import eventual, service

MASTERID = 824


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


def manager():
    mgr = service.BuildbotServiceManager()
    mgr.name = "scheduler_manager"
    mgr.config_attr = "schedulers"
    return mgr


class ConfigTests(unittest.TestCase):
    def test_only_the_name_is_positional(self):
        errors = config_errors(lambda: SingleBranchScheduler("s", ["b"], branch="main"))
        self.assertIn("pass arguments to schedulers using keyword arguments", errors)
        errors = config_errors(lambda: AnyBranchScheduler("s", ["b"]))
        self.assertIn("pass arguments to schedulers using keyword arguments", errors)

    def test_single_branch_needs_branch_or_filter(self):
        errors = config_errors(lambda: SingleBranchScheduler("s", builderNames=["b"]))
        self.assertEqual(len(errors), 1)
        self.assertIn("'branch' argument (or a change_filter) is required", errors[0])
        for kw in ({"branch": None}, {"change_filter": ChangeFilter(project="p")}):
            self.assertEqual(
                config_errors(lambda kw=kw: SingleBranchScheduler("s", builderNames=["b"], **kw)),
                [],
            )

    def test_filter_and_branch_together(self):
        errors = config_errors(
            lambda: SingleBranchScheduler(
                "s", builderNames=["b"], branch="x", change_filter=ChangeFilter()
            )
        )
        self.assertEqual(len(errors), 1)
        self.assertIn("cannot specify both", errors[0])

    def test_any_branch_refuses_branch_and_absolute_stamps(self):
        errors = config_errors(lambda: AnyBranchScheduler("s", builderNames=["b"], branch="main"))
        self.assertEqual(errors, ["AnyBranchScheduler 's': takes `branches`, not `branch`"])
        with self.assertRaises(TypeError):
            AnyBranchScheduler("s", builderNames=["b"], createAbsoluteSourceStamps=True)

    def test_bad_values(self):
        errors = config_errors(
            lambda: SingleBranchScheduler(
                "s",
                builderNames=["b"],
                branch="main",
                treeStableTimer="10",
                fileIsImportant=True,
                reason="%(bogus)s",
            )
        )
        self.assertEqual(len(errors), 3, errors)
        self.assertIn("treeStableTimer", errors[0])
        self.assertIn("fileIsImportant must be a callable", errors[1])
        self.assertIn("reason may only use", errors[2])
        errors = config_errors(
            lambda: AnyBranchScheduler("s", builderNames=["b"], reason=3, treeStableTimer=-1)
        )
        self.assertEqual(len(errors), 2, errors)

    def test_defaults_and_reason(self):
        s = SingleBranchScheduler("s", builderNames=["b"], branch=None, treeStableTimer=0)
        self.assertEqual(
            s.reason, "The SingleBranchScheduler scheduler named 's' triggered this build"
        )
        self.assertIsNone(s.treeStableTimer)  # 0: no timer
        self.assertEqual(s.change_filter, ChangeFilter(branch=None))
        a = AnyBranchScheduler(
            "a", builderNames=["b"], reason="%(name)s by %(classname)s, 100%%", treeStableTimer=2
        )
        self.assertEqual(a.reason, "a by AnyBranchScheduler, 100%")
        self.assertIsNone(a.change_filter)
        self.assertEqual(a.treeStableTimer, 2)
        a = AnyBranchScheduler("a", builderNames=["b"], branches=["x", "y"], categories="c")
        self.assertEqual(a.change_filter, ChangeFilter(branch=["x", "y"], category="c"))


class Base(TestReactorMixin):
    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, masterid=MASTERID
        )
        await self.master.db.insert_test_data(
            [fakedb.Master(id=MASTERID, name="me"), fakedb.Builder(id=1, name="b")]
        )
        self.master.scheduler_manager = manager()
        await self.master.scheduler_manager.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.updates = self.master.data.updates

    async def add(self, scheduler):
        await scheduler.setServiceParent(self.master.scheduler_manager)
        await eventual.flushEventualQueue()
        self.assertTrue(scheduler.isActive())
        return scheduler

    async def change(self, **kw):
        # each its own revision, so each its own sourcestamp
        self.revision = getattr(self, "revision", 0) + 1
        args = {
            "author": "me",
            "files": ["a.c"],
            "comments": "c",
            "branch": "main",
            "revision": str(self.revision),
            **kw,
        }
        changeid = await self.updates.addChange(**args)
        await eventual.flushEventualQueue()
        return changeid

    def buildsets(self):
        return self.updates.callsTo("addBuildset")

    async def changes_of(self, call):
        """The change ids of each sourcestamp of an addBuildset call."""
        out = []
        for ssid in call["sourcestamps"]:
            chs = await self.master.data.get(("sourcestamps", ssid, "changes"))
            out.extend(c["changeid"] for c in chs)
        return out

    async def classified(self, s):
        return await self.master.db.schedulers.getChangeClassifications(s.serviceid)


class ImmediateTests(Base, unittest.TestCase):
    async def test_each_important_change_builds_at_once(self):
        s = await self.add(
            SingleBranchScheduler(
                "s",
                builderNames=["b"],
                branch="main",
                fileIsImportant=lambda c: "README" not in c.files,
                properties={"p": 1},
                priority=4,
            )
        )
        c1 = await self.change()
        await self.change(branch="dev")
        await self.change(files=["README"])
        c4 = await self.change()
        calls = self.buildsets()
        self.assertEqual(len(calls), 2)
        self.assertEqual([await self.changes_of(c) for c in calls], [[c1], [c4]])
        self.assertEqual(calls[0]["reason"], s.reason)
        self.assertEqual(calls[0]["priority"], 4)
        self.assertEqual(calls[0]["properties"]["p"], (1, "Scheduler"))
        self.assertEqual(calls[0]["scheduler"], "s")
        # nothing is kept without a timer
        self.assertEqual(await self.classified(s), {})

    async def test_default_branch(self):
        await self.add(SingleBranchScheduler("s", builderNames=["b"], branch=None))
        await self.change()
        c2 = await self.change(branch=None)
        self.assertEqual([await self.changes_of(c) for c in self.buildsets()], [[c2]])

    async def test_any_branch_builds_every_branch(self):
        await self.add(AnyBranchScheduler("s", builderNames=["b"]))
        c1 = await self.change(branch="x")
        c2 = await self.change(branch="y")
        self.assertEqual([await self.changes_of(c) for c in self.buildsets()], [[c1], [c2]])


class TimerTests(Base, unittest.TestCase):
    async def test_waits_for_the_tree_to_be_stable(self):
        s = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        c1 = await self.change()
        self.reactor.advance(5)
        c2 = await self.change()
        self.assertEqual(s.getPendingBuildTimes(), [15])
        self.assertEqual(await self.classified(s), {c1: True, c2: True})
        self.reactor.advance(9)
        self.assertEqual(self.buildsets(), [])
        self.reactor.advance(1)
        [call] = self.buildsets()
        self.assertEqual(await self.changes_of(call), [c2])  # the latest change's stamp
        self.assertEqual(await self.classified(s), {})
        self.assertEqual(s.getPendingBuildTimes(), [])
        self.reactor.advance(100)
        self.assertEqual(len(self.buildsets()), 1)

    async def test_unimportant_changes(self):
        s = await self.add(
            SingleBranchScheduler(
                "s",
                builderNames=["b"],
                branch="main",
                treeStableTimer=10,
                fileIsImportant=lambda c: c.files != ["doc"],
                properties={"p": 1},
            )
        )
        u1 = await self.change(files=["doc"], properties={"from": "u1"})
        # recorded, but starts no wait
        self.assertEqual(await self.classified(s), {u1: False})
        self.assertEqual(s.getPendingBuildTimes(), [])
        self.reactor.advance(50)
        c2 = await self.change()
        self.reactor.advance(8)
        u3 = await self.change(files=["doc"])  # restarts the running wait
        self.reactor.advance(9)
        self.assertEqual(self.buildsets(), [])
        self.reactor.advance(1)
        [call] = self.buildsets()
        self.assertEqual(await self.changes_of(call), [u3])
        self.assertEqual(call["properties"]["from"], ("u1", "Change"))
        self.assertEqual(await self.classified(s), {})
        self.assertNotIn(c2, await self.classified(s))

    async def test_only_important(self):
        s = await self.add(
            SingleBranchScheduler(
                "s",
                builderNames=["b"],
                branch="main",
                treeStableTimer=10,
                fileIsImportant=lambda c: c.files != ["doc"],
                onlyImportant=True,
            )
        )
        await self.change(files=["doc"])
        c2 = await self.change()
        self.assertEqual(await self.classified(s), {c2: True})

    async def test_any_branch_has_a_timer_per_branch(self):
        s = await self.add(AnyBranchScheduler("s", builderNames=["b"], treeStableTimer=10))
        a1 = await self.change(branch="a")
        self.reactor.advance(1)
        b1 = await self.change(branch="b")
        self.reactor.advance(1)
        a2 = await self.change(branch="a")
        self.assertEqual(sorted(s.getPendingBuildTimes()), [11, 12])
        self.reactor.advance(9)  # t=11: b is stable
        [call] = self.buildsets()
        self.assertEqual(await self.changes_of(call), [b1])
        # a's older change survived b's flush
        self.assertEqual(await self.classified(s), {a1: True, a2: True})
        self.reactor.advance(1)  # t=12: a is stable
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(await self.changes_of(self.buildsets()[1]), [a2])
        self.assertEqual(await self.classified(s), {})

    async def test_any_branch_keys_include_codebase_project_repository(self):
        s = await self.add(
            AnyBranchScheduler("s", builderNames=["b"], treeStableTimer=10, codebases=["x", "y"])
        )
        await self.change(codebase="x")
        await self.change(codebase="y")
        await self.change(codebase="x", project="other")
        await self.change(codebase="x", repository="r2")
        self.assertEqual(len(s.getPendingBuildTimes()), 4)
        self.reactor.advance(10)
        self.assertEqual(len(self.buildsets()), 4)

    async def test_stopping_cancels_the_timers(self):
        s = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        c1 = await self.change()
        await s.disownServiceParent()
        self.assertEqual(s.getPendingBuildTimes(), [])
        self.reactor.advance(20)
        self.assertEqual(self.buildsets(), [])
        # the change waits in the DB for the next master
        self.assertEqual(await self.classified(s), {c1: True})

    async def test_restart_builds_the_classified_changes_once(self):
        s = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        c1 = await self.change()
        self.reactor.advance(5)
        await s.disownServiceParent()
        s2 = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        self.assertEqual(s2.serviceid, s.serviceid)
        self.assertEqual(s2.getPendingBuildTimes(), [15])
        self.reactor.advance(10)
        [call] = self.buildsets()
        self.assertEqual(await self.changes_of(call), [c1])
        self.reactor.advance(100)
        self.assertEqual(len(self.buildsets()), 1)

    async def test_restart_without_timer_builds_pending_changes_at_once(self):
        s = await self.add(AnyBranchScheduler("s", builderNames=["b"], treeStableTimer=10))
        await self.change(branch="x")
        await self.change(branch="y")
        await s.disownServiceParent()
        await self.add(AnyBranchScheduler("s", builderNames=["b"]))
        self.reactor.advance(0)
        self.assertEqual(len(self.buildsets()), 2)

    async def test_disabled_then_enabled(self):
        s = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        await self.change()
        await self.updates.schedulerEnable(s.serviceid, False)
        await eventual.flushEventualQueue()
        self.assertEqual(s.getPendingBuildTimes(), [])
        await self.change()  # not seen
        await self.updates.schedulerEnable(s.serviceid, True)
        await eventual.flushEventualQueue()
        self.reactor.advance(10)
        self.assertEqual(len(self.buildsets()), 1)
        self.assertEqual(len(await self.changes_of(self.buildsets()[0])), 1)

    async def test_reconfig_takes_the_new_filter_without_resubscribing(self):
        s = await self.add(SingleBranchScheduler("s", builderNames=["b"], branch="main"))
        consumer = s._change_consumer
        await s.reconfigServiceWithSibling(
            SingleBranchScheduler("s", builderNames=["b"], branch="dev")
        )
        self.assertIs(s._change_consumer, consumer)
        await self.change(branch="main")
        c2 = await self.change(branch="dev")
        self.assertEqual([await self.changes_of(c) for c in self.buildsets()], [[c2]])

    async def test_a_failing_build_is_logged(self):
        s = await self.add(
            SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=10)
        )
        await self.change()
        self.updates.override("addBuildset", lambda **kw: defer.fail(RuntimeError("db down")))
        self.reactor.advance(10)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(s.isActive())

    async def test_failed_activation_cleans_up(self):
        s = SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=1)

        def broken(*a, **kw):
            return defer.fail(RuntimeError("no"))

        s._rearm_timers = broken
        await s.setServiceParent(self.master.scheduler_manager)
        await eventual.flushEventualQueue()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertFalse(s.isActive())
        self.assertIsNone(s._change_consumer)


class AbsoluteSourceStampTests(Base, unittest.TestCase):
    def make(self):
        return SingleBranchScheduler(
            "s",
            builderNames=["b"],
            change_filter=ChangeFilter(),
            codebases={"app": {"repository": "r-app"}, "lib": {"repository": "r-lib"}},
            createAbsoluteSourceStamps=True,
        )

    async def stamps(self, call):
        out = {}
        for ss in call["sourcestamps"]:
            if isinstance(ss, int):
                ss = await self.master.data.get(("sourcestamps", ss))
            out[ss["codebase"]] = ss["revision"]
        return out

    async def test_remembers_the_last_revision_of_each_codebase(self):
        s = await self.add(self.make())
        await self.change(codebase="lib", repository="r-lib", revision="L1")
        await self.change(codebase="app", repository="r-app", revision="A1")
        calls = self.buildsets()
        self.assertEqual(await self.stamps(calls[0]), {"lib": "L1", "app": None})
        self.assertEqual(await self.stamps(calls[1]), {"lib": "L1", "app": "A1"})
        # across a restart too
        await s.disownServiceParent()
        await self.add(self.make())
        await self.change(codebase="app", repository="r-app", revision="A2")
        self.assertEqual(await self.stamps(self.buildsets()[2]), {"lib": "L1", "app": "A2"})

    async def test_an_older_change_does_not_win(self):
        s = await self.add(self.make())
        await self.change(codebase="lib", repository="r-lib", revision="L1")
        newest = s._last_codebases["lib"]["lastChange"]
        old = await s.master.db.changes.getChange(newest)
        old.changeid = newest - 1
        from buildbot.changes.changes import Change

        ch = await Change.fromChdict(self.master, old)
        ch.revision = "OLD"
        await s._remember_codebase(ch)
        self.assertEqual(s._last_codebases["lib"]["revision"], "L1")


class RealDBRestartTests(db.SQLiteDBMixin, unittest.TestCase):
    """The restart story on SQLite: classifications stored by one scheduler
    instance are built exactly once by the next, on a master whose clock the
    test drives (the DB's threads report on the real reactor)."""

    async def setUp(self):
        await super().setUp()  # self.db: a real connector on SQLite
        self.clock = task.Clock()
        await self.insert_test_data(
            [fakedb.Master(id=MASTERID, name="me"), fakedb.Builder(id=1, name="b")]
        )

    async def start_master(self):
        m = fakemaster.make_master(self, reactor=self.clock, masterid=MASTERID)
        m.db = self.db
        m.mq = FakeMQConnector(self)
        await m.mq.setServiceParent(m)
        m.data = DataConnector()
        await m.data.setServiceParent(m)
        m.scheduler_manager = manager()
        await m.scheduler_manager.setServiceParent(m)
        await m.startService()
        return m

    async def start_scheduler(self, m):
        s = SingleBranchScheduler("s", builderNames=["b"], branch="main", treeStableTimer=60)
        await s.setServiceParent(m.scheduler_manager)
        await s._activityPoll()
        self.assertTrue(s.isActive())
        return s

    async def idle(self, s):
        """Until the change or timer work in flight is done."""
        await eventual.flushEventualQueue()
        await s._change_lock.run(lambda: None)
        await s._stable_lock.run(lambda: None)

    async def buildsets(self):
        return await self.db.buildsets.getBuildsets()

    async def test_restart_before_the_timer_fires(self):
        m1 = await self.start_master()
        s1 = await self.start_scheduler(m1)
        ids = []
        for rev in ("1", "2"):
            ids.append(
                await m1.data.updates.addChange(
                    author="me", files=["a"], comments="c", branch="main", revision=rev
                )
            )
            await self.idle(s1)
            self.clock.advance(30)
        self.assertEqual(
            await self.db.schedulers.getChangeClassifications(s1.serviceid),
            {ids[0]: True, ids[1]: True},
        )
        # the master goes down 30s into the wait of the second change
        await m1.stopService()
        self.clock.advance(1000)
        self.assertEqual(await self.buildsets(), [])

        m2 = await self.start_master()
        self.addCleanup(m2.stopService)
        s2 = await self.start_scheduler(m2)
        self.assertEqual(s2.serviceid, s1.serviceid)
        self.assertEqual(len(s2.getPendingBuildTimes()), 1)
        self.clock.advance(59)
        await self.idle(s2)
        self.assertEqual(await self.buildsets(), [])
        self.clock.advance(1)
        await self.idle(s2)
        [bs] = await self.buildsets()
        self.assertEqual(bs.reason, s2.reason)
        [ssid] = bs.sourcestamps
        ss = await self.db.sourcestamps.getSourceStamp(ssid)
        self.assertEqual(ss.revision, "2")
        self.assertEqual(await self.db.schedulers.getChangeClassifications(s2.serviceid), {})
        # and never again
        self.clock.advance(1000)
        await self.idle(s2)
        self.assertEqual(len(await self.buildsets()), 1)
        await m2.stopService()
        m3 = await self.start_master()
        self.addCleanup(m3.stopService)
        s3 = await self.start_scheduler(m3)
        self.assertEqual(s3.getPendingBuildTimes(), [])
