from __future__ import annotations

from twisted.internet import defer, task
from twisted.trial import unittest

from buildbot.test.reactor import TestReactorMixin
from buildbot.util import eventual


class EventuallyOnClock(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> None:
        self.setup_test_reactor()
        self.log: list[object] = []

    def record(self, *args: object, **kwargs: object) -> None:
        self.log.append((args, kwargs) if kwargs else args)

    def test_not_called_synchronously(self) -> None:
        eventual.eventually(self.record, 1)
        self.assertEqual(self.log, [])
        self.reactor.advance(0)
        self.assertEqual(self.log, [(1,)])

    def test_fifo_order_with_args_and_kwargs(self) -> None:
        eventual.eventually(self.record, "a")
        eventual.eventually(self.record, "b", x=1)
        eventual.eventually(self.record)
        self.reactor.advance(0)
        self.assertEqual(self.log, [("a",), (("b",), {"x": 1}), ()])

    def test_call_queued_by_queued_call_runs_after_earlier_ones(self) -> None:
        def first() -> None:
            self.log.append("first")
            eventual.eventually(self.log.append, "nested")

        eventual.eventually(first)
        eventual.eventually(self.log.append, "second")
        self.reactor.advance(0)
        self.assertEqual(self.log, ["first", "second", "nested"])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_fire_eventually(self) -> None:
        d = eventual.fireEventually("v")
        d_default = eventual.fireEventually()
        self.assertNoResult(d)
        self.reactor.advance(0)
        self.assertEqual(self.successResultOf(d), "v")
        self.assertIsNone(self.successResultOf(d_default))

    def test_flush_empty_queue(self) -> None:
        self.assertIsNone(self.successResultOf(eventual.flushEventualQueue()))

    def test_flush_as_callback_discards_result(self) -> None:
        d = defer.succeed(5)
        d.addCallback(eventual.flushEventualQueue)
        self.assertIsNone(self.successResultOf(d))

    def test_flush_drains_nested_calls_without_time_passing(self) -> None:
        def level(n: int) -> None:
            self.log.append(n)
            if n < 3:
                eventual.eventually(level, n + 1)

        eventual.eventually(level, 1)
        d = eventual.fireEventually("x")
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(self.log, [1, 2, 3])
        self.assertEqual(self.successResultOf(d), "x")
        # the pending turn was cancelled, nothing is left on the clock
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_flush_from_queued_call_waits_for_outer_drain(self) -> None:
        inner: list[defer.Deferred] = []

        def flusher() -> None:
            d = eventual.flushEventualQueue()
            d.addCallback(lambda _: self.log.append("inner flushed"))
            inner.append(d)
            self.log.append(("inner fired at once", d.called))
            eventual.eventually(self.log.append, "queued by flusher")

        eventual.eventually(flusher)
        eventual.eventually(self.log.append, "after flusher")
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(
            self.log,
            [
                ("inner fired at once", False),
                "after flusher",
                "queued by flusher",
                "inner flushed",
            ],
        )
        self.successResultOf(inner[0])

    def test_flush_requested_during_turn_drains_everything(self) -> None:
        flushed: list[defer.Deferred] = []

        def flusher() -> None:
            eventual.eventually(self.log.append, "later")
            d = eventual.flushEventualQueue()
            d.addCallback(lambda _: self.log.append("flushed"))
            flushed.append(d)

        eventual.eventually(flusher)
        # one clock call runs the turn, which must now drain past its batch
        self.reactor.getDelayedCalls()[0].func()
        self.assertEqual(self.log, ["later", "flushed"])
        self.successResultOf(flushed[0])

    def test_calls_queued_by_flush_callbacks_are_drained(self) -> None:
        def flusher() -> None:
            d = eventual.flushEventualQueue()
            d.addCallback(lambda _: eventual.eventually(self.log.append, "from callback"))

        eventual.eventually(flusher)
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(self.log, ["from callback"])
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_exception_logged_and_queue_continues(self) -> None:
        eventual.eventually(lambda: 1 / 0)
        eventual.eventually(self.log.append, "next")
        self.reactor.advance(0)
        self.assertEqual(self.log, ["next"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_failed_deferred_logged_and_queue_continues(self) -> None:
        eventual.eventually(lambda: defer.fail(ValueError("boom")))
        eventual.eventually(self.log.append, "next")
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(self.log, ["next"])
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_successful_deferred_result_ignored(self) -> None:
        eventual.eventually(lambda: defer.succeed(3))
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_turn_rescheduled_after_external_cancel(self) -> None:
        eventual.eventually(self.log.append, "lost turn")
        # e.g. trial's janitor cancels leftover delayed calls
        self.reactor.getDelayedCalls()[0].cancel()
        eventual.eventually(self.log.append, "new")
        self.reactor.advance(0)
        self.assertEqual(self.log, ["lost turn", "new"])

    def test_set_reactor_discards_pending_calls(self) -> None:
        eventual.eventually(self.log.append, "stale")
        other = task.Clock()
        eventual._setReactor(other)
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        eventual.eventually(self.log.append, "fresh")
        self.assertEqual(len(other.getDelayedCalls()), 1)
        other.advance(0)
        self.assertEqual(self.log, ["fresh"])


class EventuallyOnRealReactor(unittest.TestCase):
    def setUp(self) -> None:
        eventual._setReactor(None)

    def test_fire_eventually_on_global_reactor(self) -> None:
        d = eventual.fireEventually("real")
        self.assertNoResult(d)
        d.addCallback(self.assertEqual, "real")
        return d

    def test_flush_leaves_no_delayed_calls(self) -> None:
        from twisted.internet import reactor

        before = len(reactor.getDelayedCalls())
        log: list[int] = []
        eventual.eventually(log.append, 1)
        self.assertEqual(len(reactor.getDelayedCalls()), before + 1)
        self.successResultOf(eventual.flushEventualQueue())
        self.assertEqual(log, [1])
        self.assertEqual(len(reactor.getDelayedCalls()), before)
