from __future__ import annotations

from typing import Any

from twisted.application import service as tw_service
from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot import config
from buildbot.util import service


class Child(service.AsyncService):
    """Records start/stop calls in a shared journal; each may be made to wait on a
    Deferred the test fires, or to fail."""

    def __init__(self, name: str | None, journal: list[str]) -> None:
        self.name = name
        self.journal = journal
        self.start_d: defer.Deferred[None] | None = None
        self.stop_d: defer.Deferred[None] | None = None
        self.start_error: Exception | None = None
        self.stop_error: Exception | None = None
        self.master_seen_at_stop: Any = "unset"

    def startService(self) -> defer.Deferred[None]:
        self.journal.append(f"start {self.name}")
        super().startService()
        if self.start_error is not None:
            return defer.fail(self.start_error)
        return self.start_d if self.start_d is not None else defer.succeed(None)

    def stopService(self) -> defer.Deferred[None]:
        self.journal.append(f"stop {self.name}")
        self.master_seen_at_stop = self.master
        super().stopService()
        if self.stop_error is not None:
            return defer.fail(self.stop_error)
        return self.stop_d if self.stop_d is not None else defer.succeed(None)


class Parent(service.AsyncMultiService):
    def __init__(self) -> None:
        super().__init__()
        self.journal: list[str] = []

    def child(self, name: str | None) -> Child:
        c = Child(name, self.journal)
        c.setServiceParent(self)
        return c


class AsyncServiceTests(unittest.TestCase):
    def test_start_stop_return_deferreds(self):
        s = service.AsyncService()
        self.assertIsNone(self.successResultOf(s.startService()))
        self.assertTrue(s.running)
        self.assertIsNone(self.successResultOf(s.stopService()))
        self.assertFalse(s.running)

    def test_setServiceParent_fires_when_child_started(self):
        p = Parent()
        p.startService()
        c = Child("c", p.journal)
        c.start_d = defer.Deferred()
        d = c.setServiceParent(p)
        self.assertNoResult(d)
        self.assertIs(c.parent, p)
        c.start_d.callback(None)
        self.successResultOf(d)

    def test_setServiceParent_to_plain_twisted_parent(self):
        p = tw_service.MultiService()
        c = service.AsyncService()
        self.successResultOf(c.setServiceParent(p))
        self.assertIn(c, p.services)

    def test_setServiceParent_name_collision(self):
        p = Parent()
        p.child("a")
        c = Child("a", p.journal)
        with self.assertRaises(RuntimeError):
            c.setServiceParent(p)
        self.assertIsNone(c.parent)
        self.assertEqual(len(p.services), 1)

    def test_setServiceParent_moves_from_old_parent(self):
        p1, p2 = Parent(), Parent()
        c = p1.child("c")
        self.successResultOf(c.setServiceParent(p2))
        self.assertEqual(p1.services, [])
        self.assertIs(c.parent, p2)
        self.assertEqual(p2.services, [c])

    def test_disownServiceParent_waits_for_stop_and_keeps_master_meanwhile(self):
        m = service.MasterService(reactor=task.Clock())
        m.startService()
        c = Child("c", [])
        c.setServiceParent(m)
        c.stop_d = defer.Deferred()
        d = c.disownServiceParent()
        self.assertNoResult(d)
        self.assertIs(c.master_seen_at_stop, m)
        self.assertIs(c.parent, m)
        c.stop_d.callback(None)
        self.successResultOf(d)
        self.assertIsNone(c.parent)
        self.assertNotIn("c", m.namedServices)

    def test_reparenting_while_old_parent_stops_us_keeps_new_parent(self):
        p1, p2 = Parent(), Parent()
        p1.startService()
        c = p1.child("c")
        c.stop_d = defer.Deferred()
        d = c.setServiceParent(p2)
        self.assertIs(c.parent, p2)
        c.stop_d.callback(None)
        self.successResultOf(d)
        self.assertIs(c.parent, p2)
        self.assertEqual(p1.services, [])

    def test_disownServiceParent_without_parent(self):
        self.successResultOf(service.AsyncService().disownServiceParent())

    def test_master_found_through_chain_and_explicit_wins(self):
        root = service.MasterService(reactor=task.Clock())
        plain = tw_service.MultiService()
        plain.setServiceParent(root)
        mid = service.AsyncMultiService()
        mid.setServiceParent(plain)
        leaf = service.AsyncService()
        leaf.setServiceParent(mid)
        self.assertIs(leaf.master, root)
        self.assertIs(leaf.reactor, root.reactor)
        other = object()
        mid.master = other
        self.assertIs(leaf.master, other)

    def test_master_walks_past_plain_parents_to_none(self):
        plain = tw_service.MultiService()
        leaf = service.AsyncService()
        leaf.setServiceParent(plain)
        top = tw_service.MultiService()
        plain.setServiceParent(top)
        self.assertIsNone(leaf.master)
        self.assertIsNone(leaf.reactor)

    def test_master_none_below_masterless_async_parent(self):
        mid = service.AsyncMultiService()
        leaf = service.AsyncService()
        leaf.setServiceParent(mid)
        self.assertIsNone(leaf.master)

    def test_explicit_reactor(self):
        s = service.AsyncService()
        clock = task.Clock()
        s.reactor = clock
        self.assertIs(s.reactor, clock)


class MasterServiceTests(unittest.TestCase):
    def test_is_its_own_master(self):
        clock = task.Clock()
        m = service.MasterService(reactor=clock)
        self.assertIs(m.master, m)
        self.assertIs(m.reactor, clock)

    def test_default_reactor_is_global(self):
        from twisted.internet import reactor

        self.assertIs(service.MasterService().reactor, reactor)


class AsyncMultiServiceStartTests(unittest.TestCase):
    def test_starts_children_in_order_and_waits_for_all(self):
        p = Parent()
        a = p.child("a")
        p.child("b")
        c = p.child("c")
        a.start_d, c.start_d = defer.Deferred(), defer.Deferred()
        d = p.startService()
        self.assertTrue(p.running)
        self.assertEqual(p.journal, ["start a", "start b", "start c"])
        c.start_d.callback(None)
        self.assertNoResult(d)
        a.start_d.callback(None)
        self.successResultOf(d)

    def test_plain_twisted_children(self):
        p = Parent()
        plain = tw_service.Service()
        plain.setServiceParent(p)
        self.successResultOf(p.startService())
        self.assertTrue(plain.running)

    def test_async_def_child_hooks(self):
        calls = []

        class Coro(tw_service.Service):
            async def startService(self):
                tw_service.Service.startService(self)
                calls.append("start")

            async def stopService(self):
                tw_service.Service.stopService(self)
                calls.append("stop")

        p = Parent()
        Coro().setServiceParent(p)
        self.successResultOf(p.startService())
        self.successResultOf(p.stopService())
        self.assertEqual(calls, ["start", "stop"])

    def test_failing_children_fail_parent_others_started(self):
        p = Parent()
        a, b, c = p.child("a"), p.child("b"), p.child("c")
        a.start_error = ValueError("first")
        c.start_error = KeyError("second")
        f = self.failureResultOf(p.startService(), ValueError)
        self.assertEqual(str(f.value), "first")
        self.assertTrue(b.running)
        self.assertEqual(p.journal, ["start a", "start b", "start c"])
        logged = self.flushLoggedErrors(KeyError)
        self.assertEqual(len(logged), 1)

    def test_addService_while_running_starts_child(self):
        p = Parent()
        p.startService()
        c = Child("c", p.journal)
        c.start_d = defer.Deferred()
        d = p.addService(c)
        self.assertEqual(p.journal, ["start c"])
        self.assertNoResult(d)
        c.start_d.callback(None)
        self.successResultOf(d)
        self.assertIs(p.namedServices["c"], c)

    def test_addService_while_stopped_does_not_start(self):
        p = Parent()
        c = Child("c", p.journal)
        self.successResultOf(p.addService(c))
        self.assertEqual(p.journal, [])
        self.assertFalse(c.running)

    def test_addService_unnamed_child(self):
        p = Parent()
        c = p.child(None)
        self.assertEqual(p.services, [c])
        self.assertEqual(p.namedServices, {})

    def test_addService_during_async_start_starts_once_and_parent_waits(self):
        p = Parent()
        a = p.child("a")
        a.start_d = defer.Deferred()
        d = p.startService()
        late = Child("late", p.journal)
        late.start_d = defer.Deferred()
        add_d = late.setServiceParent(p)
        a.start_d.callback(None)
        # the parent is not "started" while a child it took on is still starting
        self.assertNoResult(d)
        late.start_d.callback(None)
        self.successResultOf(add_d)
        self.successResultOf(d)
        self.assertEqual(p.journal, ["start a", "start late"])

    def test_failure_of_late_child_goes_to_its_adder_only(self):
        p = Parent()
        a = p.child("a")
        a.start_d = defer.Deferred()
        d = p.startService()
        late = Child("late", p.journal)
        late.start_error = ValueError("late")
        self.failureResultOf(late.setServiceParent(p), ValueError)
        a.start_d.callback(None)
        self.successResultOf(d)

    def test_child_adding_sibling_while_starting_starts_it_once(self):
        p = Parent()
        a = p.child("a")
        extra = Child("extra", p.journal)
        orig = a.startService

        def start_and_add():
            extra.setServiceParent(p)
            return orig()

        a.startService = start_and_add
        self.successResultOf(p.startService())
        self.assertEqual(p.journal.count("start extra"), 1)

    def test_child_removed_by_earlier_sibling_is_not_started(self):
        p = Parent()
        a, b = p.child("a"), p.child("b")
        orig = a.startService

        def start_and_remove():
            b.disownServiceParent()
            return orig()

        a.startService = start_and_remove
        self.successResultOf(p.startService())
        self.assertEqual(p.journal, ["start a"])
        self.assertEqual(p.services, [a])

    def test_privilegedStartService_error_fails_addService(self):
        p = Parent()
        p.startService()
        c = Child("c", p.journal)

        def boom():
            raise OSError("no port")

        c.privilegedStartService = boom
        self.failureResultOf(p.addService(c), OSError)
        self.assertEqual(p.journal, [])


class AsyncMultiServiceStopTests(unittest.TestCase):
    def test_stops_in_reverse_order_one_at_a_time(self):
        p = Parent()
        a, b, c = p.child("a"), p.child("b"), p.child("c")
        p.startService()
        del p.journal[:]
        c.stop_d = defer.Deferred()
        b.stop_d = defer.Deferred()
        d = p.stopService()
        self.assertFalse(p.running)
        self.assertEqual(p.journal, ["stop c"])
        c.stop_d.callback(None)
        self.assertEqual(p.journal, ["stop c", "stop b"])
        self.assertNoResult(d)
        b.stop_d.callback(None)
        self.assertEqual(p.journal, ["stop c", "stop b", "stop a"])
        self.successResultOf(d)
        self.assertFalse(a.running)

    def test_stop_errors_passed_up_after_all_tried(self):
        p = Parent()
        a = p.child("a")
        p.child("b")
        c = p.child("c")
        p.startService()
        del p.journal[:]
        c.stop_error = ValueError("c")
        a.stop_error = KeyError("a")
        self.failureResultOf(p.stopService(), ValueError)
        self.assertEqual(p.journal, ["stop c", "stop b", "stop a"])
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_children_never_started_are_not_stopped(self):
        p = Parent()
        p.child("a")
        p.startService()
        p.running = False  # pretend: children added now are not started
        p.child("b")
        p.running = True
        del p.journal[:]
        self.successResultOf(p.stopService())
        self.assertEqual(p.journal, ["stop a"])

    def test_stop_during_start_waits_for_start(self):
        p = Parent()
        a = p.child("a")
        a.start_d = defer.Deferred()
        start_d = p.startService()
        stop_d = p.stopService()
        self.assertEqual(p.journal, ["start a"])
        a.start_d.callback(None)
        self.successResultOf(start_d)
        self.successResultOf(stop_d)
        self.assertEqual(p.journal, ["start a", "stop a"])

    def test_stop_during_late_child_start_waits_for_it(self):
        p = Parent()
        self.successResultOf(p.startService())
        c = Child("c", p.journal)
        c.start_d = defer.Deferred()
        c.setServiceParent(p)
        stop_d = p.stopService()
        self.assertEqual(p.journal, ["start c"])
        c.start_d.callback(None)
        self.successResultOf(stop_d)
        self.assertEqual(p.journal, ["start c", "stop c"])


class RemoveServiceTests(unittest.TestCase):
    def test_remove_stops_child_and_waits(self):
        p = Parent()
        c = p.child("c")
        p.startService()
        c.stop_d = defer.Deferred()
        d = p.removeService(c)
        self.assertEqual(p.journal[-1], "stop c")
        self.assertNoResult(d)
        self.assertIn("c", p.namedServices)  # still reachable while stopping
        c.stop_d.callback(None)
        self.successResultOf(d)
        self.assertEqual(p.services, [])
        self.assertEqual(p.namedServices, {})

    def test_remove_when_not_running_just_unregisters(self):
        p = Parent()
        c = p.child("c")
        self.successResultOf(p.removeService(c))
        self.assertEqual(p.journal, [])
        self.assertEqual(p.services, [])

    def test_remove_unnamed_running_child(self):
        p = Parent()
        c = p.child(None)
        keep = p.child("keep")
        p.startService()
        self.successResultOf(p.removeService(c))
        self.assertFalse(c.running)
        self.assertEqual(p.services, [keep])
        self.assertEqual(p.namedServices, {"keep": keep})

    def test_remove_unknown_child(self):
        with self.assertRaises(ValueError):
            Parent().removeService(Child("x", []))

    def test_remove_failure_still_unregisters(self):
        p = Parent()
        c = p.child("c")
        p.startService()
        c.stop_error = ValueError("stop")
        self.failureResultOf(c.disownServiceParent(), ValueError)
        self.assertEqual(p.services, [])
        self.assertIsNone(c.parent)

    def test_remove_while_child_starting_waits_for_start(self):
        p = Parent()
        c = p.child("c")
        c.start_d = defer.Deferred()
        p.startService()
        d = p.removeService(c)
        self.assertEqual(p.journal, ["start c"])
        c.start_d.callback(None)
        self.successResultOf(d)
        self.assertEqual(p.journal, ["start c", "stop c"])

    def test_remove_during_parent_stop_stops_once_and_parent_waits(self):
        p = Parent()
        a = p.child("a")
        p.child("b")
        p.startService()
        del p.journal[:]
        a.stop_d = defer.Deferred()
        remove_d = p.removeService(a)
        stop_d = p.stopService()
        self.assertEqual(p.journal, ["stop a", "stop b"])
        self.assertNoResult(stop_d)
        a.stop_d.callback(None)
        self.successResultOf(remove_d)
        self.successResultOf(stop_d)
        self.assertEqual(p.journal, ["stop a", "stop b"])


class Reconf(service.AsyncMultiService, service.ReconfigurableServiceMixin):
    def __init__(self, name: str, priority: int, journal: list) -> None:
        super().__init__()
        self.name = name
        self.reconfig_priority = priority
        self.journal = journal
        self.d: defer.Deferred[None] | None = None

    def reconfigServiceWithBuildbotConfig(self, new_config):
        self.journal.append((self.name, new_config))
        return self.d if self.d is not None else defer.succeed(None)


class RootReconf(service.AsyncMultiService, service.ReconfigurableServiceMixin):
    pass


class ReconfigurableMixinTests(unittest.TestCase):
    def test_children_by_descending_priority_stable_and_sequential(self):
        journal: list = []
        top = RootReconf()
        low = Reconf("low", 10, journal)
        mid1 = Reconf("mid1", 50, journal)
        high = Reconf("high", 99, journal)
        mid2 = Reconf("mid2", 50, journal)
        for s in (low, mid1, high, mid2):
            s.setServiceParent(top)
        tw_service.Service().setServiceParent(top)  # not reconfigurable: skipped
        high.d = defer.Deferred()
        d = top.reconfigServiceWithBuildbotConfig("cfg")
        self.assertEqual(journal, [("high", "cfg")])
        high.d.callback(None)
        self.successResultOf(d)
        self.assertEqual([n for n, _ in journal], ["high", "mid1", "mid2", "low"])

    def test_default_priority(self):
        self.assertEqual(service.ReconfigurableServiceMixin.reconfig_priority, 128)


class Configured(service.BuildbotService):
    """Records checkConfig/reconfigService calls; reconfigService may wait or fail."""

    def __init__(self, *args, **kwargs):
        self.checks: list = []
        self.reconfigs: list = []
        self.reconfig_d: defer.Deferred[None] | None = None
        self.reconfig_error: Exception | None = None
        super().__init__(*args, **kwargs)

    def checkConfig(self, *args, **kwargs):
        self.checks.append((args, kwargs))
        if kwargs.get("bad"):
            config.error("bad is bad")

    def reconfigService(self, *args, **kwargs):
        self.reconfigs.append((args, kwargs))
        if self.reconfig_error is not None:
            return defer.fail(self.reconfig_error)
        return self.reconfig_d if self.reconfig_d is not None else defer.succeed(None)


class OtherConfigured(Configured):
    pass


class WithEq:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, WithEq) and other.v == self.v

    __hash__ = None


class WithoutEq:
    pass


class BadEq:
    def __eq__(self, other):
        raise TypeError("cannot compare")

    __hash__ = None


class BuildbotServiceTests(unittest.TestCase):
    def test_names(self):
        self.assertEqual(Configured().name, "Configured")
        self.assertEqual(Configured(name="x").name, "x")

        class Named(service.BuildbotService):
            name = "fixed"

        self.assertEqual(Named().name, "fixed")

    def test_name_must_be_a_string(self):
        with self.assertRaises(config.ConfigErrors):
            Configured(name=3)

    def test_checkConfig_called_at_construction(self):
        s = Configured(1, "two", k=[3], name="n")
        self.assertEqual(s.checks, [((1, "two"), {"k": [3]})])
        self.assertEqual(s.reconfigs, [])
        self.assertFalse(s.configured)

    def test_checkConfig_errors_collected_inside_capture(self):
        with config.capture_config_errors() as errors:
            s1 = Configured(bad=True, name="one")
            s2 = Configured(bad=True, name="two")
        self.assertEqual(errors.errors, ["bad is bad", "bad is bad"])
        self.assertEqual((s1.name, s2.name), ("one", "two"))

    def test_checkConfig_errors_raised_outside_capture(self):
        with self.assertRaises(config.ConfigErrors) as cm:
            Configured(bad=True)
        self.assertEqual(cm.exception.errors, ["bad is bad"])

    def test_default_hooks(self):
        s = service.BuildbotService(1, a=2)
        self.successResultOf(s.startService())
        self.assertTrue(s.configured)

    def test_getConfigDict(self):
        s = Configured(1, x=2, name="n")
        self.assertEqual(
            s.getConfigDict(),
            {
                "name": "n",
                "class": "buildbot.test.unit.util.test_service.Configured",
                "args": (1,),
                "kwargs": {"x": 2},
            },
        )

    def test_start_reconfigures_with_constructor_args_before_children(self):
        s = Configured(1, x=2)
        journal: list[str] = []
        Child("kid", journal).setServiceParent(s)
        s.reconfig_d = defer.Deferred()
        d = s.startService()
        self.assertEqual(s.reconfigs, [((1,), {"x": 2})])
        self.assertEqual(journal, [])
        s.reconfig_d.callback(None)
        self.successResultOf(d)
        self.assertEqual(journal, ["start kid"])
        self.assertTrue(s.configured)

    def test_restart_does_not_reconfigure_again(self):
        s = Configured(1)
        self.successResultOf(s.startService())
        self.successResultOf(s.stopService())
        self.successResultOf(s.startService())
        self.assertEqual(len(s.reconfigs), 1)

    def test_failed_reconfig_fails_start_and_is_retried(self):
        s = Configured(1)
        s.reconfig_error = ValueError("no")
        self.failureResultOf(s.startService(), ValueError)
        self.assertFalse(s.configured)
        s.reconfig_error = None
        self.successResultOf(s.startService())
        self.assertEqual(len(s.reconfigs), 2)
        self.assertTrue(s.configured)

    def _started(self, *args, **kwargs):
        s = Configured(*args, **kwargs)
        self.successResultOf(s.startService())
        del s.reconfigs[:]
        return s

    def test_sibling_unchanged_not_reconfigured(self):
        s = self._started(1, [2, {"a": "b"}], k={"x": (1, 2)}, name="n")
        self.successResultOf(
            s.reconfigServiceWithSibling(Configured(1, [2, {"a": "b"}], k={"x": (1, 2)}, name="n"))
        )
        self.assertEqual(s.reconfigs, [])

    def test_sibling_changed_reconfigured_with_new_args(self):
        s = self._started(1, k="old", name="n")
        self.successResultOf(s.reconfigServiceWithSibling(Configured(2, k="new", name="n")))
        self.assertEqual(s.reconfigs, [((2,), {"k": "new"})])
        self.assertEqual(s.getConfigDict()["args"], (2,))
        self.assertEqual(s.name, "n")

    def test_sibling_of_other_class_or_name_is_a_change(self):
        s = self._started(1, name="n")
        self.successResultOf(s.reconfigServiceWithSibling(OtherConfigured(1, name="n")))
        self.successResultOf(s.reconfigServiceWithSibling(Configured(1, name="other")))
        self.assertEqual(len(s.reconfigs), 2)

    def test_objects_with_eq_compare_by_value(self):
        s = self._started(WithEq(1))
        self.successResultOf(s.reconfigServiceWithSibling(Configured(WithEq(1))))
        self.assertEqual(s.reconfigs, [])
        self.successResultOf(s.reconfigServiceWithSibling(Configured(WithEq(2))))
        self.assertEqual(len(s.reconfigs), 1)

    def test_objects_without_eq_compare_by_identity(self):
        obj = WithoutEq()
        s = self._started(obj)
        self.successResultOf(s.reconfigServiceWithSibling(Configured(obj)))
        self.assertEqual(s.reconfigs, [])
        self.successResultOf(s.reconfigServiceWithSibling(Configured(WithoutEq())))
        self.assertEqual(len(s.reconfigs), 1)

    def test_failing_comparison_is_a_change(self):
        s = self._started(BadEq())
        self.successResultOf(s.reconfigServiceWithSibling(Configured(BadEq())))
        self.assertEqual(len(s.reconfigs), 1)

    def test_failed_sibling_reconfig_retried_with_same_sibling(self):
        s = self._started(1)
        s.reconfig_error = ValueError("no")
        self.failureResultOf(s.reconfigServiceWithSibling(Configured(2)), ValueError)
        self.assertFalse(s.configured)
        s.reconfig_error = None
        self.successResultOf(s.reconfigServiceWithSibling(Configured(2)))
        self.assertEqual(len(s.reconfigs), 2)
        self.assertTrue(s.configured)

    def test_canReconfigWithSibling(self):
        s = Configured()
        self.assertTrue(s.canReconfigWithSibling(Configured(5)))
        self.assertFalse(s.canReconfigWithSibling(OtherConfigured()))

    def test_reactor_from_master(self):
        clock = task.Clock()
        m = service.MasterService(reactor=clock)
        s = Configured()
        s.setServiceParent(m)
        self.assertIs(s.master, m)
        self.assertIs(s.reactor, clock)


class FakeConfig:
    def __init__(self, services):
        self.services = services


class BuildbotServiceManagerTests(unittest.TestCase):
    def setUp(self):
        self.mgr = service.BuildbotServiceManager()
        self.successResultOf(self.mgr.startService())

    def reconfig(self, services):
        return self.mgr.reconfigServiceWithBuildbotConfig(FakeConfig(services))

    def test_name_and_attr(self):
        self.assertEqual(self.mgr.name, "services")
        self.assertEqual(service.BuildbotServiceManager.config_attr, "services")

    def test_add_from_list_starts_services(self):
        a, b = Configured(1, name="a"), Configured(2, name="b")
        self.successResultOf(self.reconfig([a, b]))
        self.assertEqual(self.mgr.services, [a, b])
        self.assertTrue(a.running and b.running)
        self.assertEqual(a.reconfigs, [((1,), {})])

    def test_add_from_dict(self):
        a = Configured(name="a")
        self.successResultOf(self.reconfig({"a": a}))
        self.assertIs(self.mgr.namedServices["a"], a)

    def test_duplicate_names_in_list(self):
        f = self.failureResultOf(self.reconfig([Configured(name="a"), Configured(name="a")]))
        f.trap(ValueError)
        self.assertIn("'a'", str(f.value))
        self.assertEqual(self.mgr.services, [])

    def test_not_running_adds_without_starting(self):
        mgr = service.BuildbotServiceManager()
        a = Configured(name="a")
        self.successResultOf(mgr.reconfigServiceWithBuildbotConfig(FakeConfig([a])))
        self.assertFalse(a.running)
        self.assertEqual(a.reconfigs, [])

    def test_remove(self):
        a, b = Configured(name="a"), Configured(name="b")
        self.successResultOf(self.reconfig([a, b]))
        self.successResultOf(self.reconfig([Configured(name="b")]))
        self.assertFalse(a.running)
        self.assertIsNone(a.parent)
        self.assertEqual(self.mgr.services, [b])

    def test_unchanged_keeps_instance_untouched(self):
        a = Configured(1, k="v", name="a")
        self.successResultOf(self.reconfig([a]))
        self.successResultOf(self.reconfig([Configured(1, k="v", name="a")]))
        self.assertIs(self.mgr.namedServices["a"], a)
        self.assertEqual(len(a.reconfigs), 1)
        self.assertTrue(a.running)

    def test_same_instance_in_new_config(self):
        a = Configured(name="a")
        self.successResultOf(self.reconfig([a]))
        self.successResultOf(self.reconfig([a]))
        self.assertEqual(len(a.reconfigs), 1)
        self.assertEqual(self.mgr.services, [a])

    def test_changed_args_reconfigure_old_instance(self):
        a = Configured(1, name="a")
        self.successResultOf(self.reconfig([a]))
        new = Configured(2, name="a")
        self.successResultOf(self.reconfig([new]))
        self.assertIs(self.mgr.namedServices["a"], a)
        self.assertEqual(a.reconfigs[-1], ((2,), {}))
        self.assertFalse(new.running)
        self.assertIsNone(new.parent)

    def test_class_change_replaces(self):
        a = Configured(1, name="a")
        self.successResultOf(self.reconfig([a]))
        new = OtherConfigured(1, name="a")
        self.successResultOf(self.reconfig([new]))
        self.assertFalse(a.running)
        self.assertIsNone(a.parent)
        self.assertTrue(new.running)
        self.assertEqual(self.mgr.services, [new])

    def test_named_child_that_cannot_reconfigure_is_replaced(self):
        plain = service.AsyncService()
        plain.name = "a"
        plain.setServiceParent(self.mgr)
        new = Configured(name="a")
        self.successResultOf(self.reconfig([new]))
        self.assertEqual(self.mgr.services, [new])
        self.assertFalse(plain.running)

    def test_changed_services_reconfigured_by_priority(self):
        order = []

        class Prio(service.BuildbotService):
            def reconfigService(self, *args, **kwargs):
                order.append(self.name)
                return defer.succeed(None)

        lo, hi = Prio(1, name="lo"), Prio(1, name="hi")
        hi.reconfig_priority = 500
        self.successResultOf(self.reconfig([lo, hi]))
        del order[:]
        self.successResultOf(self.reconfig([Prio(2, name="lo"), Prio(2, name="hi")]))
        self.assertEqual(order, ["hi", "lo"])

    def test_reconfig_error_logged_and_raised(self):
        a = Configured(1, name="a")
        self.successResultOf(self.reconfig([a]))
        a.reconfig_error = ValueError("broken")
        self.failureResultOf(self.reconfig([Configured(2, name="a")]), ValueError)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_unnamed_reconfigurable_children_get_the_config(self):
        journal: list = []
        r = Reconf("x", 1, journal)
        r.name = None
        r.setServiceParent(self.mgr)
        cfg = FakeConfig([])
        self.successResultOf(self.mgr.reconfigServiceWithBuildbotConfig(cfg))
        self.assertEqual(journal, [(None, cfg)])
        self.assertEqual(self.mgr.services, [r])

    def test_getConfigDict(self):
        self.successResultOf(self.reconfig([Configured(1, name="a")]))
        d = self.mgr.getConfigDict()
        self.assertEqual(d["name"], "services")
        self.assertEqual([c["name"] for c in d["childs"]], ["a"])


class Shared(service.SharedService):
    instances = 0

    def __init__(self, *args, **kwargs):
        super().__init__()
        Shared.instances += 1
        self.args = (args, kwargs)
        self.starts = 0
        self.start_d: defer.Deferred[None] | None = None

    def startService(self):
        self.starts += 1
        super().startService()
        return self.start_d if self.start_d is not None else defer.succeed(None)


class SharedServiceTests(unittest.TestCase):
    def setUp(self):
        self.parent = Parent()
        self.successResultOf(self.parent.startService())

    def test_getName(self):
        n = Shared.getName(1, [2], a={"x": 1}, b=3)
        self.assertTrue(n.startswith("Shared_"))
        self.assertEqual(n, Shared.getName(1, [2], b=3, a={"x": 1}))
        self.assertNotEqual(n, Shared.getName(1, [3], a={"x": 1}, b=3))
        self.assertNotEqual(Shared.getName(1), Shared.getName("1"))
        self.assertNotEqual(Shared.getName(1), Shared.getName(a=1))

    def test_same_args_same_instance(self):
        s1 = self.successResultOf(Shared.getService(self.parent, 1, a=2))
        s2 = self.successResultOf(Shared.getService(self.parent, 1, a=2))
        self.assertIs(s1, s2)
        self.assertEqual(s1.args, ((1,), {"a": 2}))
        self.assertEqual(s1.starts, 1)
        self.assertIs(self.parent.namedServices[s1.name], s1)

    def test_different_args_different_instances(self):
        s1 = self.successResultOf(Shared.getService(self.parent, 1))
        s2 = self.successResultOf(Shared.getService(self.parent, 2))
        self.assertIsNot(s1, s2)

    def test_concurrent_calls_share_and_wait_for_start(self):
        before = Shared.instances
        gate: defer.Deferred[None] = defer.Deferred()
        orig_start = Shared.startService

        def gated(svc):
            svc.start_d = gate
            return orig_start(svc)

        self.patch(Shared, "startService", gated)
        d1 = Shared.getService(self.parent, "x")
        d2 = Shared.getService(self.parent, "x")
        self.assertNoResult(d1)
        self.assertNoResult(d2)
        gate.callback(None)
        s1, s2 = self.successResultOf(d1), self.successResultOf(d2)
        self.assertIs(s1, s2)
        self.assertEqual(Shared.instances - before, 1)
        self.assertEqual(s1.starts, 1)

    def test_start_failure_reaches_all_callers_and_is_forgotten(self):
        gate: defer.Deferred[None] = defer.Deferred()
        orig_start = Shared.startService

        def gated(svc):
            svc.start_d = gate
            return orig_start(svc)

        self.patch(Shared, "startService", gated)
        d1 = Shared.getService(self.parent, "x")
        d2 = Shared.getService(self.parent, "x")
        gate.errback(ValueError("no start"))
        self.failureResultOf(d1, ValueError)
        self.failureResultOf(d2, ValueError)
        self.assertEqual(self.parent.services, [])
        self.patch(Shared, "startService", orig_start)
        self.successResultOf(Shared.getService(self.parent, "x"))

    def test_failed_removal_after_failed_start_is_logged(self):
        def failing_start(svc):
            tw_service.Service.startService(svc)
            return defer.fail(ValueError("no start"))

        def failing_stop(svc):
            return defer.fail(KeyError("no stop"))

        self.patch(Shared, "startService", failing_start)
        self.patch(Shared, "stopService", failing_stop)
        self.failureResultOf(Shared.getService(self.parent, "x"), ValueError)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_placed_first_so_stopped_last(self):
        user = self.parent.child("user")
        s = self.successResultOf(Shared.getService(self.parent, 1))
        self.assertEqual(self.parent.services, [s, user])
        order = []
        self.patch(s, "stopService", lambda: order.append("shared"))
        self.patch(user, "stopService", lambda: order.append("user"))
        self.successResultOf(self.parent.stopService())
        self.assertEqual(order, ["user", "shared"])

    def test_parent_not_running(self):
        parent = Parent()
        s = self.successResultOf(Shared.getService(parent, 1))
        self.assertEqual(s.starts, 0)
        self.assertIs(self.successResultOf(Shared.getService(parent, 1)), s)
        self.successResultOf(parent.startService())
        self.assertEqual(s.starts, 1)

    def test_existing_service_with_that_name(self):
        other = service.AsyncService()
        other.name = Shared.getName(7)
        other.setServiceParent(self.parent)
        self.assertIs(self.successResultOf(Shared.getService(self.parent, 7)), other)


class Clustered(service.ClusteredBuildbotService):
    """Claim answers are scripted: each claim takes the next of `answers`, which is
    a bool, an exception to fail with, or a Deferred the test fires."""

    def __init__(self, *args, **kwargs):
        self.answers: list = []
        self.journal: list[str] = []
        self.activate_error: Exception | None = None
        self.deactivate_error: Exception | None = None
        self.unclaim_error: Exception | None = None
        self.activate_d: defer.Deferred[None] | None = None
        super().__init__(*args, **kwargs)

    def _getServiceId(self):
        self.journal.append("getid")
        return defer.succeed(42)

    def _claimService(self):
        self.journal.append("claim")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            return defer.fail(answer)
        if isinstance(answer, defer.Deferred):
            return answer
        return defer.succeed(answer)

    def _unclaimService(self):
        self.journal.append("unclaim")
        if self.unclaim_error is not None:
            return defer.fail(self.unclaim_error)
        return defer.succeed(None)

    def activate(self):
        self.journal.append("activate")
        if self.activate_error is not None:
            return defer.fail(self.activate_error)
        return self.activate_d if self.activate_d is not None else defer.succeed(None)

    def deactivate(self):
        self.journal.append("deactivate")
        if self.deactivate_error is not None:
            return defer.fail(self.deactivate_error)
        return defer.succeed(None)


class ClusteredBuildbotServiceTests(unittest.TestCase):
    POLL = service.ClusteredBuildbotService.POLL_INTERVAL_SEC

    def setUp(self):
        self.clock = task.Clock()
        self.master = service.MasterService(reactor=self.clock)
        self.successResultOf(self.master.startService())
        self.svc = Clustered(name="c")

    def start(self, *answers):
        self.svc.answers.extend(answers)
        self.successResultOf(self.svc.setServiceParent(self.master))

    def test_poll_interval(self):
        self.assertEqual(self.POLL, 300)

    def test_win_activates_and_stops_polling(self):
        self.start(True)
        self.assertEqual(self.svc.journal, ["getid", "claim", "activate"])
        self.assertTrue(self.svc.isActive())
        self.assertEqual(self.svc.serviceid, 42)
        self.clock.advance(self.POLL * 3)
        self.assertEqual(self.svc.journal.count("claim"), 1)

    def test_lose_then_win_at_a_later_poll(self):
        self.start(False, False, True)
        self.assertFalse(self.svc.isActive())
        self.clock.advance(self.POLL - 1)
        self.assertEqual(self.svc.journal, ["getid", "claim"])
        self.clock.advance(1)
        self.assertFalse(self.svc.isActive())
        self.clock.advance(self.POLL)
        self.assertTrue(self.svc.isActive())
        self.assertEqual(self.svc.journal, ["getid", "claim", "claim", "claim", "activate"])

    def test_stop_deactivates_then_unclaims(self):
        self.start(True)
        self.successResultOf(self.svc.disownServiceParent())
        self.assertEqual(self.svc.journal[-2:], ["deactivate", "unclaim"])
        self.assertFalse(self.svc.isActive())
        self.assertFalse(self.svc.running)

    def test_stop_while_inactive_stops_polling(self):
        self.start(False)
        self.successResultOf(self.svc.disownServiceParent())
        self.clock.advance(self.POLL * 3)
        self.assertEqual(self.svc.journal, ["getid", "claim"])

    def test_claim_error_logged_and_retried(self):
        self.start(RuntimeError("db down"), True)
        self.assertFalse(self.svc.isActive())
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.clock.advance(self.POLL)
        self.assertTrue(self.svc.isActive())

    def test_activate_error_unclaims_and_retries(self):
        self.svc.activate_error = ValueError("activation")
        self.start(True, True)
        self.assertFalse(self.svc.isActive())
        self.assertEqual(self.svc.journal, ["getid", "claim", "activate", "unclaim"])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.svc.activate_error = None
        self.clock.advance(self.POLL)
        self.assertTrue(self.svc.isActive())

    def test_deactivate_and_unclaim_errors_logged_not_raised(self):
        self.start(True)
        self.svc.deactivate_error = ValueError("deactivate")
        self.svc.unclaim_error = KeyError("unclaim")
        self.successResultOf(self.svc.disownServiceParent())
        self.assertEqual(self.svc.journal[-2:], ["deactivate", "unclaim"])
        self.assertEqual(len(self.flushLoggedErrors(ValueError, KeyError)), 2)
        self.assertFalse(self.svc.isActive())

    def test_poll_during_claim_in_flight_does_not_claim_twice(self):
        claim: defer.Deferred[bool] = defer.Deferred()
        self.start(claim)
        joined = self.svc._activityPoll()
        self.clock.advance(self.POLL * 2)
        self.assertEqual(self.svc.journal.count("claim"), 1)
        claim.callback(True)
        self.successResultOf(joined)
        self.assertEqual(self.svc.journal.count("activate"), 1)
        self.assertTrue(self.svc.isActive())

    def test_stop_during_claim_in_flight_gives_claim_back(self):
        claim: defer.Deferred[bool] = defer.Deferred()
        self.start(claim)
        stop_d = self.svc.disownServiceParent()
        self.assertNoResult(stop_d)
        claim.callback(True)
        self.successResultOf(stop_d)
        self.assertEqual(self.svc.journal, ["getid", "claim", "unclaim"])
        self.assertFalse(self.svc.isActive())

    def test_stop_during_activation_waits_then_deactivates(self):
        self.svc.activate_d = defer.Deferred()
        self.start(True)
        stop_d = self.svc.disownServiceParent()
        self.assertNoResult(stop_d)
        self.svc.activate_d.callback(None)
        self.successResultOf(stop_d)
        self.assertEqual(self.svc.journal[-3:], ["activate", "deactivate", "unclaim"])
        self.assertFalse(self.svc.isActive())

    def test_poll_while_active_or_stopped_does_nothing(self):
        self.start(True)
        self.successResultOf(self.svc._activityPoll())
        self.successResultOf(self.svc.disownServiceParent())
        self.successResultOf(self.svc._activityPoll())
        self.assertEqual(self.svc.journal.count("claim"), 1)

    def test_restart_claims_again(self):
        self.start(True, True)
        self.successResultOf(self.svc.stopService())
        self.successResultOf(self.svc.startService())
        self.assertTrue(self.svc.isActive())
        self.assertEqual(self.svc.journal.count("getid"), 1)
        self.assertEqual(self.svc.journal.count("activate"), 2)

    def test_base_class_claim_hooks_are_abstract(self):
        base = service.ClusteredBuildbotService(name="base")
        self.failureResultOf(base._getServiceId(), NotImplementedError)
        self.failureResultOf(base._claimService(), NotImplementedError)
        self.failureResultOf(base._unclaimService(), NotImplementedError)
        self.successResultOf(base.activate())
        self.successResultOf(base.deactivate())
        # started anyway: the failure is logged and retried, never raised
        self.successResultOf(base.setServiceParent(self.master))
        self.assertFalse(base.isActive())
        self.assertEqual(len(self.flushLoggedErrors(NotImplementedError)), 1)
        self.successResultOf(base.disownServiceParent())

    def test_needs_a_reactor(self):
        self.failureResultOf(self.svc.startService(), RuntimeError)

    def test_broken_poll_is_logged(self):
        def broken():
            return defer.fail(ZeroDivisionError())

        self.patch(self.svc, "_activityPoll", broken)
        self.start()
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
