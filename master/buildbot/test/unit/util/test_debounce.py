from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot.test.reactor import TestReactorMixin
from buildbot.util import debounce


class FakeMaster:
    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor


class Target:
    """Records the clock time of every run of each debounced method."""

    def __init__(self, master: Any = None) -> None:
        self.master = master
        self.runs: list[tuple[str, float]] = []
        self.pending: defer.Deferred | None = None
        self.fail_with: Exception | None = None
        self.other_clock = task.Clock()

    def _record(self, name: str, reactor: Any) -> None:
        self.runs.append((name, reactor.seconds()))

    @debounce.method(wait=4)
    def quick(self) -> None:
        """Quick docstring."""
        self._record("quick", self.master.reactor)
        if self.fail_with is not None:
            raise self.fail_with

    @debounce.method(wait=4, until_idle=True)
    def idle(self) -> None:
        self._record("idle", self.master.reactor)

    @debounce.method(wait=4)
    def slow(self) -> defer.Deferred:
        self._record("slow", self.master.reactor)
        self.pending = defer.Deferred()
        return self.pending

    @debounce.method(wait=4)
    def again(self) -> None:
        self._record("again", self.master.reactor)
        if len(self.runs) < 2:
            self.again()

    @debounce.method(wait=2, get_reactor=lambda self: self.other_clock)
    def elsewhere(self) -> None:
        self._record("elsewhere", self.other_clock)


class DebounceTests(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> None:
        self.setup_test_reactor()
        self.target = Target(FakeMaster(self.reactor))

    def advance_to(self, when: float) -> None:
        # step through each due call so the clock reads its due time when it runs
        while True:
            due = [c.getTime() for c in self.reactor.getDelayedCalls() if c.getTime() <= when]
            if not due:
                break
            self.reactor.advance(min(due) - self.reactor.seconds())
        self.reactor.advance(when - self.reactor.seconds())

    def test_call_returns_none_and_does_not_run_synchronously(self) -> None:
        self.assertIsNone(self.target.quick())
        self.assertEqual(self.target.runs, [])

    def test_calls_within_wait_coalesce_into_one_run(self) -> None:
        for t in (0, 1, 3):
            self.advance_to(t)
            self.target.quick()
        self.advance_to(3.9)
        self.assertEqual(self.target.runs, [])
        self.advance_to(4)
        self.advance_to(20)
        self.assertEqual(self.target.runs, [("quick", 4)])

    def test_each_burst_gets_a_run(self) -> None:
        self.target.quick()
        self.advance_to(4)
        self.advance_to(5)
        self.target.quick()
        self.target.quick()
        self.advance_to(20)
        self.assertEqual(self.target.runs, [("quick", 4), ("quick", 9)])

    def test_until_idle_pushes_run_back(self) -> None:
        for t in (0, 3, 6):
            self.advance_to(t)
            self.target.idle()
        self.advance_to(9.9)
        self.assertEqual(self.target.runs, [])
        self.advance_to(20)
        self.assertEqual(self.target.runs, [("idle", 10)])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_calls_during_running_deferred_give_exactly_one_more_run(self) -> None:
        self.target.slow()
        self.advance_to(4)
        self.assertEqual(self.target.runs, [("slow", 4)])
        first = self.target.pending
        for t in (5, 6, 7):
            self.advance_to(t)
            self.target.slow()
        self.advance_to(14)
        self.assertEqual(len(self.target.runs), 1)  # never overlaps itself
        first.callback(None)
        self.advance_to(17.9)
        self.assertEqual(len(self.target.runs), 1)
        self.advance_to(18)
        self.assertEqual(self.target.runs, [("slow", 4), ("slow", 18)])
        self.target.pending.callback(None)
        self.advance_to(100)
        self.assertEqual(len(self.target.runs), 2)

    def test_call_from_within_synchronous_run_schedules_one_more(self) -> None:
        self.target.again()
        self.advance_to(20)
        self.assertEqual(self.target.runs, [("again", 4), ("again", 8)])

    def test_failure_is_logged_and_later_runs_happen(self) -> None:
        self.target.fail_with = RuntimeError("boom")
        self.target.quick()
        self.advance_to(4)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.target.fail_with = None
        self.target.quick()
        self.advance_to(8)
        self.assertEqual(self.target.runs, [("quick", 4), ("quick", 8)])

    def test_failed_deferred_is_logged_and_later_runs_happen(self) -> None:
        self.target.slow()
        self.advance_to(4)
        self.target.pending.errback(ValueError("late boom"))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.target.slow()
        self.advance_to(8)
        self.assertEqual(len(self.target.runs), 2)

    def test_stop_when_idle_fires_at_once_without_running(self) -> None:
        self.successResultOf(self.target.quick.stop())
        self.assertEqual(self.target.runs, [])

    def test_stop_runs_scheduled_call_immediately(self) -> None:
        self.target.quick()
        self.advance_to(1)
        d = self.target.quick.stop()
        self.assertEqual(self.target.runs, [("quick", 1)])
        self.successResultOf(d)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stop_waits_for_running_call(self) -> None:
        self.target.slow()
        self.advance_to(4)
        d = self.target.slow.stop()
        d2 = self.target.slow.stop()
        self.assertNoResult(d)
        self.target.pending.callback(None)
        self.successResultOf(d)
        self.successResultOf(d2)
        self.assertEqual(len(self.target.runs), 1)

    def test_stop_runs_owed_call_right_after_running_one(self) -> None:
        self.target.slow()
        self.advance_to(4)
        self.target.slow()  # owed a run
        d = self.target.slow.stop()
        self.target.pending.callback(None)
        self.assertEqual(self.target.runs, [("slow", 4), ("slow", 4)])
        self.assertNoResult(d)
        self.target.pending.callback(None)
        self.successResultOf(d)

    def test_stop_without_running_pending_drops_scheduled_call(self) -> None:
        self.target.quick()
        self.advance_to(1)
        d = self.target.quick.stop(run_pending=False)
        self.successResultOf(d)
        self.assertEqual(self.target.runs, [])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stop_without_running_pending_drops_owed_call(self) -> None:
        self.target.slow()
        self.advance_to(4)
        self.target.slow()  # owed a run, dropped by the stop
        d = self.target.slow.stop(run_pending=False)
        self.assertNoResult(d)  # the run in progress is waited for
        self.target.pending.callback(None)
        self.successResultOf(d)
        self.assertEqual(self.target.runs, [("slow", 4)])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_calls_after_stop_are_ignored(self) -> None:
        self.successResultOf(self.target.quick.stop())
        self.target.quick()
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.advance_to(100)
        self.assertEqual(self.target.runs, [])

    def test_start_after_stop_accepts_calls_again(self) -> None:
        self.successResultOf(self.target.quick.stop())
        self.target.quick.start()
        self.target.quick()
        self.advance_to(4)
        self.assertEqual(self.target.runs, [("quick", 4)])

    def test_stop_waiter_fires_when_idle_after_restart(self) -> None:
        self.target.slow()
        self.advance_to(4)
        d = self.target.slow.stop()
        self.target.slow.start()
        self.target.slow()  # owed, and no longer stopped: scheduled normally
        self.target.pending.callback(None)
        self.assertNoResult(d)
        self.advance_to(8)
        self.target.pending.callback(None)
        self.successResultOf(d)
        self.assertEqual(self.target.runs, [("slow", 4), ("slow", 8)])

    def test_instances_are_independent(self) -> None:
        other = Target(FakeMaster(self.reactor))
        self.target.quick()
        self.successResultOf(other.quick.stop())
        self.advance_to(4)
        self.assertEqual(self.target.runs, [("quick", 4)])
        self.assertEqual(other.runs, [])
        self.assertIsNot(self.target.quick, other.quick)
        self.assertIs(self.target.quick, self.target.quick)

    def test_methods_are_independent(self) -> None:
        self.target.quick()
        self.target.idle()
        self.advance_to(2)
        self.target.idle()
        self.advance_to(20)
        self.assertEqual(self.target.runs, [("quick", 4), ("idle", 6)])

    def test_get_reactor_override(self) -> None:
        self.target.elsewhere()
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.target.other_clock.advance(2)
        self.assertEqual(self.target.runs, [("elsewhere", 2)])

    def test_reactor_looked_up_when_scheduling(self) -> None:
        target = Target()
        debouncer = target.quick  # created before the master is attached
        target.master = FakeMaster(self.reactor)
        debouncer()
        self.advance_to(4)
        self.assertEqual(target.runs, [("quick", 4)])

    def test_class_access_gives_descriptor_with_metadata(self) -> None:
        self.assertEqual(Target.quick.__name__, "quick")
        self.assertEqual(Target.quick.__doc__, "Quick docstring.")
        self.assertIsInstance(self.target.quick, debounce.Debouncer)

    def test_subclass_override_has_separate_state(self) -> None:
        class Sub(Target):
            @debounce.method(wait=1)
            def quick(self) -> None:
                self._record("sub", self.master.reactor)
                Target.quick.__get__(self)()

        sub = Sub(FakeMaster(self.reactor))
        sub.quick()
        self.advance_to(20)
        self.assertEqual(sub.runs, [("sub", 1), ("quick", 5)])

    def test_debouncer_usable_directly(self) -> None:
        runs: list[float] = []
        clock = task.Clock()
        d = debounce.Debouncer(1, lambda: runs.append(clock.seconds()), lambda: clock)
        d()
        clock.advance(1)
        self.assertEqual(runs, [1])
