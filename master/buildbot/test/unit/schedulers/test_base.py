"""BaseScheduler: configuration checks, the claim and the enabled flag, buildsets."""

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.changes.changes import Change
from buildbot.changes.filter import ChangeFilter
from buildbot.schedulers.base import BaseScheduler
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import eventual

MASTERID = 824


@implementer(interfaces.IRenderable)
class Rendered:
    """A renderable giving a fixed value (or a property's, if `prop` is given)."""

    def __init__(self, value=None, prop=None):
        self.value = value
        self.prop = prop

    def getRenderingFor(self, props):
        if self.prop is not None:
            return defer.succeed(props.getProperty(self.prop))
        return defer.succeed(self.value)


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


class Working(BaseScheduler):
    """Follows the subclass contract of activate/deactivate, recording the work."""

    def __init__(self, *args, **kwargs):
        self.log = []
        super().__init__(*args, **kwargs)

    async def activate(self):
        await super().activate()
        if not self.enabled:
            return
        self.log.append("start")

    async def deactivate(self):
        if self.enabled:
            self.log.append("stop")
        await super().deactivate()


class ConfigTests(unittest.TestCase):
    def test_name_positional_or_keyword(self):
        for s in (BaseScheduler("s", ["b"]), BaseScheduler(name="s", builderNames=["b"])):
            self.assertEqual(s.name, "s")
            self.assertEqual(s.listBuilderNames(), ["b"])
            self.assertTrue(interfaces.IScheduler.providedBy(s))

    def test_defaults(self):
        s = BaseScheduler("s", ["a", "b"])
        self.assertEqual(s.codebases, {"": {}})
        self.assertEqual(s.properties, {"scheduler": ("s", "Scheduler")})
        self.assertIsNone(s.priority)
        self.assertEqual(s.getPendingBuildTimes(), [])
        self.assertTrue(s.enabled)

    def test_properties_get_the_scheduler_source(self):
        s = BaseScheduler("s", ["b"], properties={"a": 1, "scheduler": "mine"})
        # the scheduler's own name wins over a property of the same name
        self.assertEqual(s.properties, {"a": (1, "Scheduler"), "scheduler": ("s", "Scheduler")})

    def test_codebases_forms(self):
        self.assertEqual(
            BaseScheduler("s", ["b"], codebases=["x", "y"]).codebases, {"x": {}, "y": {}}
        )
        cb = {"x": {"repository": "r", "branch": "main", "revision": None}}
        self.assertEqual(BaseScheduler("s", ["b"], codebases=cb).codebases, cb)

    def test_renderable_builder_names_accepted(self):
        names = Rendered(["b"])
        self.assertIs(BaseScheduler("s", names).listBuilderNames(), names)
        self.assertEqual(config_errors(lambda: BaseScheduler("s", ["a", Rendered("b")])), [])

    def test_bad_arguments_are_collected(self):
        errors = config_errors(
            lambda: BaseScheduler(
                "s",
                "b",
                properties=["x"],
                codebases={"x": {"repository": "r", "color": "red"}},
                priority="high",
            )
        )
        self.assertEqual(len(errors), 4, errors)
        self.assertIn("builderNames", errors[0])
        self.assertIn("properties", errors[1])
        self.assertIn("['color']", errors[2])
        self.assertIn("priority", errors[3])

    def test_more_bad_arguments(self):
        for kwargs in (
            {"builderNames": ["a", 3]},
            {"builderNames": None},
            {"builderNames": ["a"], "codebases": "x"},
            {"builderNames": ["a"], "codebases": {"x": "r"}},
            {"builderNames": ["a"], "codebases": ["x", 1]},
            {"builderNames": ["a"], "priority": True},
        ):
            errors = config_errors(lambda kwargs=kwargs: BaseScheduler("s", **kwargs))
            self.assertEqual(len(errors), 1, (kwargs, errors))

    def test_error_raised_outside_a_config_load(self):
        with self.assertRaises(config.ConfigErrors):
            BaseScheduler("s", "b")

    def test_missing_name(self):
        errors = config_errors(lambda: BaseScheduler(None, ["b"]))
        self.assertEqual(len(errors), 1)
        self.assertIn("name", errors[0])

    def test_priority_kinds(self):
        for p in (None, 3, lambda names, changes: 1, Rendered(2)):
            self.assertEqual(config_errors(lambda p=p: BaseScheduler("s", ["b"], priority=p)), [])


class Started(TestReactorMixin):
    """A fake master (fake DB, MQ, data) with a scheduler manager."""

    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, masterid=MASTERID
        )
        await self.master.db.insert_test_data([fakedb.Master(id=MASTERID, name="me")])
        self.master.scheduler_manager = fakemaster_manager()
        await self.master.scheduler_manager.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.updates = self.master.data.updates

    async def add(self, scheduler):
        await scheduler.setServiceParent(self.master.scheduler_manager)
        await eventual.flushEventualQueue()
        return scheduler


def fakemaster_manager():
    from buildbot.util import service

    mgr = service.BuildbotServiceManager()
    mgr.name = "scheduler_manager"
    mgr.config_attr = "schedulers"
    return mgr


class ClaimTests(Started, unittest.TestCase):
    async def test_claims_and_activates(self):
        s = await self.add(Working("s", ["b"]))
        self.updates.assertCalled("findSchedulerId", name="s")
        self.updates.assertCalled(
            "trySetSchedulerMaster", schedulerid=s.serviceid, masterid=MASTERID
        )
        self.assertTrue(s.isActive())
        self.assertEqual(s.log, ["start"])
        row = await self.master.data.get(("schedulers", s.serviceid))
        self.assertEqual(row["master"]["masterid"], MASTERID)
        await s.disownServiceParent()
        self.assertEqual(s.log, ["start", "stop"])
        row = await self.master.data.get(("schedulers", s.serviceid))
        self.assertIsNone(row["master"])

    async def test_claimed_elsewhere_stays_inactive(self):
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=2, name="other"),
                fakedb.Scheduler(id=7, name="s"),
                fakedb.SchedulerMaster(schedulerid=7, masterid=2),
            ]
        )
        s = await self.add(Working("s", ["b"]))
        self.assertEqual(s.serviceid, 7)
        self.assertFalse(s.isActive())
        self.assertEqual(s.log, [])

    async def test_disabled_in_db_does_no_work_until_enabled(self):
        await self.master.db.insert_test_data([fakedb.Scheduler(id=7, name="s", enabled=0)])
        s = await self.add(Working("s", ["b"]))
        self.assertTrue(s.isActive())  # claimed, but idle
        self.assertFalse(s.enabled)
        self.assertEqual(s.log, [])

        await self.updates.schedulerEnable(7, True)
        await eventual.flushEventualQueue()
        self.assertTrue(s.enabled)
        self.assertEqual(s.log, ["start"])

        await self.updates.schedulerEnable(7, False)
        await eventual.flushEventualQueue()
        self.assertFalse(s.enabled)
        self.assertEqual(s.log, ["start", "stop"])

        # stopping a disabled scheduler has no work to stop
        await s.disownServiceParent()
        self.assertEqual(s.log, ["start", "stop"])

    async def test_enable_events_of_other_schedulers_are_ignored(self):
        await self.master.db.insert_test_data([fakedb.Scheduler(id=8, name="other", enabled=1)])
        s = await self.add(Working("s", ["b"]))
        await self.updates.schedulerEnable(8, False)
        await eventual.flushEventualQueue()
        self.assertTrue(s.enabled)

    async def test_inactive_scheduler_follows_the_flag(self):
        await self.master.db.insert_test_data(
            [
                fakedb.Master(id=2, name="other"),
                fakedb.Scheduler(id=7, name="s"),
                fakedb.SchedulerMaster(schedulerid=7, masterid=2),
            ]
        )
        s = await self.add(Working("s", ["b"]))
        await self.updates.schedulerEnable(7, False)
        await eventual.flushEventualQueue()
        self.assertFalse(s.enabled)
        self.assertEqual(s.log, [])

    async def test_stop_ends_the_enable_subscription(self):
        s = await self.add(Working("s", ["b"]))
        await s.disownServiceParent()
        self.assertIsNone(s._enable_consumer)
        self.assertFalse(
            [q for q in self.master.mq._consumers if q.filter == ("schedulers", None, "updated")]
        )

    async def test_reconfig_takes_new_arguments(self):
        s = await self.add(BaseScheduler("s", ["a"], properties={"p": 1}))
        await s.reconfigServiceWithSibling(BaseScheduler("s", ["a", "b"], priority=4))
        self.assertEqual(s.listBuilderNames(), ["a", "b"])
        self.assertEqual(s.properties, {"scheduler": ("s", "Scheduler")})
        self.assertEqual(s.priority, 4)


class BuildsetTests(Started, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data(
            [fakedb.Builder(id=1, name="a"), fakedb.Builder(id=2, name="b")]
        )

    def produced(self, *prefix):
        return [(k, m) for k, m in self.master.mq.productions if k[: len(prefix)] == prefix]

    async def test_addBuildsetForSourceStamps(self):
        s = BaseScheduler("s", ["a", "b"], properties={"p": "v"}, priority=3)
        await self.add(s)
        bsid, brids = await s.addBuildsetForSourceStamps(
            sourcestamps=[{"codebase": "", "repository": "r", "branch": "main", "revision": "1"}],
            reason="because",
            external_idstring="ext",
            properties={"given": (1, "Trigger"), "p": ("lost", "Trigger")},
        )
        self.assertEqual(sorted(brids), [1, 2])
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["scheduler"], "s")
        self.assertEqual(call["reason"], "because")
        self.assertEqual(call["builderids"], [1, 2])
        self.assertEqual(call["external_idstring"], "ext")
        self.assertEqual(call["priority"], 3)
        self.assertFalse(call["waited_for"])
        self.assertEqual(
            call["properties"],
            {"given": (1, "Trigger"), "p": ("v", "Scheduler"), "scheduler": ("s", "Scheduler")},
        )
        # events: each request's, then the buildset's, with the scheduler
        [(key, msg)] = [(k, m) for k, m in self.produced("buildsets", str(bsid)) if len(k) == 3]
        self.assertEqual(key, ("buildsets", str(bsid), "new"))
        self.assertEqual(msg["scheduler"], "s")
        self.assertEqual(msg["reason"], "because")
        self.assertEqual(len(self.produced("buildrequests")), 2)
        bs = await self.master.data.get(("buildsets", bsid))
        [ss] = bs["sourcestamps"]
        self.assertEqual((ss["repository"], ss["branch"], ss["revision"]), ("r", "main", "1"))
        props = await self.master.db.buildsets.getBuildsetProperties(bsid)
        self.assertEqual(props["p"], ("v", "Scheduler"))

    async def test_builder_names_override_and_unknown_builders_registered(self):
        s = await self.add(BaseScheduler("s", ["a", "b"]))
        _, brids = await s.addBuildsetForSourceStamps(builderNames=["b", "new", "b"])
        new = await self.master.db.builders.findBuilderId("new", autoCreate=False)
        self.assertEqual(self.updates.callsTo("addBuildset")[-1]["builderids"], [2, new])
        self.assertEqual(sorted(brids), sorted([2, new]))

    async def test_renderables_are_rendered(self):
        s = BaseScheduler(
            "s",
            Rendered(["a", Rendered("b")]),
            properties={"x": Rendered(prop="scheduler")},
            priority=Rendered(5),
        )
        await self.add(s)
        await s.addBuildsetForSourceStamps()
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["builderids"], [1, 2])
        self.assertEqual(call["priority"], 5)
        self.assertEqual(call["properties"]["x"], ("s", "Scheduler"))

    async def test_callable_priority(self):
        seen = []

        def priority(names, changes):
            seen.append((names, changes))
            return 9

        s = await self.add(BaseScheduler("s", ["a"], priority=priority))
        await s.addBuildsetForSourceStamps()
        self.assertEqual(seen, [(["a"], {})])
        self.assertEqual(self.updates.callsTo("addBuildset")[-1]["priority"], 9)
        await s.addBuildsetForSourceStamps(priority=2)
        self.assertEqual(self.updates.callsTo("addBuildset")[-1]["priority"], 2)

    async def test_with_defaults_fills_codebases(self):
        s = BaseScheduler(
            "s",
            ["a"],
            codebases={
                "main": {"repository": "r1", "branch": "trunk"},
                "lib": {"repository": "r2", "revision": "abc"},
            },
        )
        await self.add(s)
        await s.addBuildsetForSourceStampsWithDefaults(
            "why",
            sourcestamps=[
                {"codebase": "lib", "revision": "def"},
                {"codebase": "extra", "repository": "r3", "branch": "x", "project": "p"},
            ],
            waited_for=True,
        )
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertTrue(call["waited_for"])
        self.assertEqual(call["reason"], "why")
        self.assertEqual(
            call["sourcestamps"],
            [
                {
                    "codebase": "main",
                    "repository": "r1",
                    "branch": "trunk",
                    "revision": None,
                    "project": "",
                },
                {
                    "codebase": "lib",
                    "repository": "r2",
                    "branch": None,
                    "revision": "def",
                    "project": "",
                },
                {
                    "codebase": "extra",
                    "repository": "r3",
                    "branch": "x",
                    "revision": None,
                    "project": "p",
                },
            ],
        )

    async def test_with_defaults_rejects_two_stamps_of_a_codebase(self):
        s = await self.add(BaseScheduler("s", ["a"]))
        with self.assertRaises(ValueError):
            await s.addBuildsetForSourceStampsWithDefaults(
                "why", sourcestamps=[{"codebase": ""}, {"codebase": ""}]
            )
        self.updates.assertNotCalled("addBuildset")


class Consuming(BaseScheduler):
    """Consumes changes from activate, with the given arguments; records gotChange."""

    def __init__(self, *args, consume=None, **kwargs):
        self.consume = consume or {}
        self.got = []
        self.hold = None  # a Deferred gotChange waits for, if set
        super().__init__(*args, **kwargs)

    async def activate(self):
        await super().activate()
        if self.enabled:
            await self.startConsumingChanges(**self.consume)

    def gotChange(self, change, important):
        self.got.append((change.number, change.files, important))
        if isinstance(self.hold, Exception):
            raise self.hold
        return self.hold


class ChangeConsumptionTests(Started, unittest.TestCase):
    async def add_change(self, **kw):
        args = {"author": "me", "files": ["a.c"], "comments": "c", "branch": "main", **kw}
        changeid = await self.updates.addChange(**args)
        await eventual.flushEventualQueue()
        return changeid

    async def test_changes_reach_gotChange_as_Change_objects(self):
        s = await self.add(Consuming("s", ["b"]))
        received = []
        s.gotChange = lambda change, important: received.append((change, important))
        c1 = await self.add_change(files=["x"], properties={"p": 1})
        self.assertEqual(len(received), 1)
        change, important = received[0]
        self.assertIsInstance(change, Change)
        self.assertEqual((change.number, change.files, change.who), (c1, ["x"], "me"))
        self.assertEqual(change.properties.getProperty("p"), 1)
        self.assertTrue(important)

    async def test_filter_classification_and_onlyImportant(self):
        consume = {
            "fileIsImportant": lambda c: "doc" not in c.files,
            "change_filter": ChangeFilter(branch="main"),
        }
        s = await self.add(Consuming("s", ["b"], consume=consume))
        c1 = await self.add_change(files=["a.c"])
        await self.add_change(files=["a.c"], branch="dev")  # filtered out
        c3 = await self.add_change(files=["doc"])
        self.assertEqual(s.got, [(c1, ["a.c"], True), (c3, ["doc"], False)])

        s2 = await self.add(Consuming("s2", ["b"], consume={**consume, "onlyImportant": True}))
        c4 = await self.add_change(files=["doc"])
        c5 = await self.add_change(files=["b.c"])
        self.assertEqual(s2.got, [(c5, ["b.c"], True)])
        self.assertEqual(s.got[-2:], [(c4, ["doc"], False), (c5, ["b.c"], True)])

    async def test_classifier_may_return_a_deferred(self):
        consume = {"fileIsImportant": lambda c: defer.succeed(False)}
        s = await self.add(Consuming("s", ["b"], consume=consume))
        c1 = await self.add_change()
        self.assertEqual(s.got, [(c1, ["a.c"], False)])

    async def test_changes_of_other_codebases_are_ignored(self):
        s = await self.add(Consuming("s", ["b"], codebases=["lib"]))
        await self.add_change(codebase="")
        c2 = await self.add_change(codebase="lib")
        self.assertEqual([g[0] for g in s.got], [c2])

    async def test_one_change_at_a_time_in_order(self):
        s = await self.add(Consuming("s", ["b"]))
        s.hold = defer.Deferred()
        c1 = await self.add_change()
        c2 = await self.add_change()
        self.assertEqual([g[0] for g in s.got], [c1])  # the second waits
        hold, s.hold = s.hold, None
        hold.callback(None)
        await eventual.flushEventualQueue()
        self.assertEqual([g[0] for g in s.got], [c1, c2])

    async def test_errors_are_logged_and_consumption_goes_on(self):
        s = await self.add(Consuming("s", ["b"]))
        s.hold = RuntimeError("boom")
        await self.add_change()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        s.hold = None
        c2 = await self.add_change()
        self.assertEqual(s.got[-1][0], c2)
        # and errors of the filter too
        s.consume = {}
        await s.stopConsumingChanges()
        await s.startConsumingChanges(change_filter=ChangeFilter(filter_fn=lambda c: 1 / 0))
        await self.add_change()
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(s.got[-1][0], c2)

    async def test_gotChange_must_be_implemented(self):
        s = BaseScheduler("s", ["b"])
        await self.add(s)
        await s.startConsumingChanges()
        await self.add_change()
        self.assertEqual(len(self.flushLoggedErrors(NotImplementedError)), 1)

    async def test_pruned_change_is_skipped(self):
        s = await self.add(Consuming("s", ["b"]))
        await s.stopConsumingChanges()
        await s.startConsumingChanges()
        await self.master.mq.callConsumer(("changes", "999", "new"), {"changeid": 999})
        self.assertEqual(s.got, [])

    async def test_consuming_twice_fails(self):
        s = await self.add(Consuming("s", ["b"]))
        with self.assertRaises(RuntimeError):
            await s.startConsumingChanges()

    async def test_deactivate_waits_for_the_change_in_hand_and_drops_the_rest(self):
        s = await self.add(Consuming("s", ["b"]))
        s.hold = defer.Deferred()
        c1 = await self.add_change()
        await self.add_change()  # queued behind the first
        stopped = s.disownServiceParent()
        self.assertFalse(stopped.called)
        s.hold.callback(None)
        await stopped
        self.assertEqual([g[0] for g in s.got], [c1])
        self.assertFalse(
            [q for q in self.master.mq._consumers if q.filter == ("changes", None, "new")]
        )

    async def test_disabling_stops_consumption(self):
        s = await self.add(Consuming("s", ["b"]))
        await self.updates.schedulerEnable(s.serviceid, False)
        await eventual.flushEventualQueue()
        await self.add_change()
        self.assertEqual(s.got, [])

    async def test_stop_after_a_failed_activation_leaves_no_consumer(self):
        class Failing(Consuming):
            async def activate(self):
                await super().activate()
                raise RuntimeError("activation failed")

        s = Failing("s", ["b"])
        await self.add(s)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertFalse(s.isActive())
        await s.disownServiceParent()
        self.assertIsNone(s._change_consumer)


class BuildsetForChangesTests(Started, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data([fakedb.Builder(id=1, name="a")])

    async def change(self, **kw):
        args = {"author": "me", "files": ["a.c"], "comments": "c", "branch": "main", **kw}
        return await self.updates.addChange(**args)

    async def stamps_of(self, bsid):
        bs = await self.master.data.get(("buildsets", bsid))
        return {ss["codebase"]: ss for ss in bs["sourcestamps"]}

    async def test_latest_change_per_codebase_and_defaults(self):
        s = BaseScheduler(
            "s",
            ["a"],
            codebases={
                "app": {"repository": "r-app", "branch": "trunk"},
                "lib": {"repository": "r-lib", "branch": "stable", "revision": "v1"},
            },
            properties={"p": "sched"},
        )
        await self.add(s)
        c1 = await self.change(
            codebase="app", revision="1", repository="r-app", properties={"x": 1}
        )
        c2 = await self.change(
            codebase="app", revision="2", repository="r-app", properties={"x": 2}
        )
        bsid, brids = await s.addBuildsetForChanges(
            reason="why", changeids=[c2, c1], external_idstring="ext", properties={"y": (3, "T")}
        )
        self.assertEqual(list(brids), [1])
        stamps = await self.stamps_of(bsid)
        self.assertEqual(sorted(stamps), ["app", "lib"])
        self.assertEqual(stamps["app"]["revision"], "2")
        self.assertEqual(
            (stamps["lib"]["repository"], stamps["lib"]["branch"], stamps["lib"]["revision"]),
            ("r-lib", "stable", "v1"),
        )
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["reason"], "why")
        self.assertEqual(call["external_idstring"], "ext")
        self.assertEqual(
            call["properties"],
            {
                "x": (2, "Change"),
                "y": (3, "T"),
                "p": ("sched", "Scheduler"),
                "scheduler": ("s", "Scheduler"),
            },
        )
        # the buildset's changes are those of its sourcestamp
        changes = await self.master.data.get(("sourcestamps", stamps["app"]["ssid"], "changes"))
        self.assertEqual([c["changeid"] for c in changes], [c2])

    async def test_change_of_an_unconfigured_codebase_is_added(self):
        s = await self.add(BaseScheduler("s", ["a"]))
        c1 = await self.change(codebase="other")
        bsid, _ = await s.addBuildsetForChanges(changeids=[c1])
        self.assertEqual(sorted(await self.stamps_of(bsid)), ["", "other"])

    async def test_callable_priority_gets_the_changes_by_codebase(self):
        seen = []

        def priority(names, by_codebase):
            seen.append((names, {k: [m.changeid for m in v] for k, v in by_codebase.items()}))
            return 7

        s = await self.add(BaseScheduler("s", ["a"], priority=priority))
        c1 = await self.change()
        c2 = await self.change()
        await s.addBuildsetForChanges(changeids=[c1, c2], waited_for=True)
        self.assertEqual(seen, [(["a"], {"": [c1, c2]})])
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["priority"], 7)
        self.assertTrue(call["waited_for"])
        await s.addBuildsetForChanges(changeids=[c1], priority=3, builderNames=["z"])
        call = self.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["priority"], 3)
        self.assertEqual(len(seen), 1)

    async def test_unknown_change(self):
        s = await self.add(BaseScheduler("s", ["a"]))
        with self.assertRaises(KeyError):
            await s.addBuildsetForChanges(changeids=[404])
        self.updates.assertNotCalled("addBuildset")
