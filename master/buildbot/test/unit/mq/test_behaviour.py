"""One suite, run on SimpleMQ and on the fake: the fake must deliver like the real thing."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.mq import simple
from buildbot.test.fake import fakemq
from buildbot.test.reactor import TestReactorMixin
from buildbot.util.eventual import flushEventualQueue


class MQBehaviour(TestReactorMixin):
    """Mixed into a TestCase that defines `make_mq`."""

    def make_mq(self) -> Any:
        raise NotImplementedError

    def setUp(self) -> None:
        self.setup_test_reactor()
        self.mq = self.make_mq()
        self.got: list[Any] = []

    def record(self, key: tuple, data: Any) -> None:
        self.got.append((key, data))

    async def consume(self, filt: tuple, callback: Any = None, **kwargs: Any) -> Any:
        return await self.mq.startConsuming(callback or self.record, filt, **kwargs)

    async def test_delivery_is_later_not_in_produce(self) -> None:
        await self.consume(("builds", None, "new"))
        self.mq.produce(("builds", "6", "new"), {"buildid": 6})
        self.assertEqual(self.got, [])
        await flushEventualQueue()
        self.assertEqual(self.got, [(("builds", "6", "new"), {"buildid": 6})])

    async def test_delivery_on_the_next_reactor_turn(self) -> None:
        await self.consume(("builds", None, "new"))
        self.mq.produce(("builds", "6", "new"), {})
        self.reactor.advance(0)
        self.assertEqual(len(self.got), 1)

    async def test_only_matching_messages(self) -> None:
        await self.consume(("builds", None, "finished"))
        self.mq.produce(("builds", "1", "new"), {"n": 1})
        self.mq.produce(("builds", "1", "finished"), {"n": 2})
        self.mq.produce(("builders", "1", "builds", "1", "finished"), {"n": 3})
        self.mq.produce(("builds", "1", "properties", "update"), {"n": 4})
        await flushEventualQueue()
        self.assertEqual(self.got, [(("builds", "1", "finished"), {"n": 2})])

    async def test_overlapping_subscriptions_deliver_twice(self) -> None:
        await self.consume(("builds", None, None))
        await self.consume(("builds", "6", None))
        self.mq.produce(("builds", "6", "new"), {})
        self.mq.produce(("builds", "7", "new"), {})
        await flushEventualQueue()
        self.assertEqual(
            sorted(k for k, _ in self.got),
            [("builds", "6", "new"), ("builds", "6", "new"), ("builds", "7", "new")],
        )

    async def test_order_per_consumer(self) -> None:
        await self.consume((None, None))
        for i in range(20):
            self.mq.produce(("x", str(i)), {"i": i})
        await flushEventualQueue()
        self.assertEqual([d["i"] for _, d in self.got], list(range(20)))

    async def test_stop_consuming(self) -> None:
        qref = await self.consume(("a", None))
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()
        qref.stopConsuming()
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        self.assertEqual([k for k, _ in self.got], [("a", "1")])
        qref.stopConsuming()  # twice is harmless

    async def test_stop_consuming_drops_queued_messages(self) -> None:
        qref = await self.consume(("a", None))
        self.mq.produce(("a", "1"), {})
        qref.stopConsuming()
        await flushEventualQueue()
        self.assertEqual(self.got, [])

    async def test_stop_consuming_from_inside_the_callback(self) -> None:
        qrefs: list[Any] = []

        def once(key: tuple, data: Any) -> None:
            self.got.append(key)
            qrefs[0].stopConsuming()

        qrefs.append(await self.consume(("a", None), once))
        for i in range(3):
            self.mq.produce(("a", str(i)), {})
        await flushEventualQueue()
        self.assertEqual(self.got, [("a", "0")])

    async def test_producer_is_never_reentered(self) -> None:
        journal: list[str] = []

        def consumer(key: tuple, data: Any) -> None:
            journal.append(f"consumed {key[1]}")
            if key[1] == "1":
                self.mq.produce(("a", "2"), {})
                journal.append("consumer's produce returned")

        await self.consume(("a", None), consumer)
        self.mq.produce(("a", "1"), {})
        journal.append("produce returned")
        await flushEventualQueue()
        self.assertEqual(
            journal, ["produce returned", "consumed 1", "consumer's produce returned", "consumed 2"]
        )

    async def test_deferred_callback_gets_messages_one_at_a_time(self) -> None:
        pending: list[defer.Deferred[None]] = []

        def slow(key: tuple, data: Any) -> defer.Deferred[None]:
            self.got.append(key)
            d: defer.Deferred[None] = defer.Deferred()
            pending.append(d)
            return d

        await self.consume(("a", None), slow)
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        self.assertEqual(self.got, [("a", "1")])
        pending[0].callback(None)
        # finishing does not deliver the next message synchronously
        self.assertEqual(self.got, [("a", "1")])
        await flushEventualQueue()
        self.assertEqual(self.got, [("a", "1"), ("a", "2")])
        pending[1].callback(None)

    async def test_slow_consumer_does_not_block_others(self) -> None:
        never: defer.Deferred[None] = defer.Deferred()
        await self.consume(("a", None), lambda k, d: never)
        await self.consume(("a", None))
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        self.assertEqual([k for k, _ in self.got], [("a", "1"), ("a", "2")])
        never.callback(None)

    async def test_coroutine_callback(self) -> None:
        gate: defer.Deferred[None] = defer.Deferred()

        async def consumer(key: tuple, data: Any) -> None:
            self.got.append(("start", key))
            await gate
            self.got.append(("end", key))

        await self.consume(("a", None), consumer)
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        self.assertEqual(self.got, [("start", ("a", "1"))])
        gate.callback(None)
        await flushEventualQueue()
        self.assertEqual(
            [(what, key[1]) for what, key in self.got],
            [("start", "1"), ("end", "1"), ("start", "2"), ("end", "2")],
        )

    async def test_failing_consumer_is_logged_and_others_served(self) -> None:
        def boom(key: tuple, data: Any) -> None:
            self.got.append(("boom", key))
            raise RuntimeError("sync failure")

        def async_boom(key: tuple, data: Any) -> defer.Deferred[None]:
            return defer.fail(KeyError("async failure"))

        await self.consume(("a", None), boom)
        await self.consume(("a", None), async_boom)
        await self.consume(("a", None))
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        # the failing consumer itself keeps getting messages
        self.assertEqual([k for t, k in self.got if t == "boom"], [("a", "1"), ("a", "2")])
        self.assertEqual(len([1 for t, _ in self.got if t != "boom"]), 2)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 2)

    async def test_wait_until_event(self) -> None:
        d = self.mq.waitUntilEvent(("builds", None, "finished"), lambda: False)
        self.mq.produce(("builds", "1", "new"), {})
        await flushEventualQueue()
        self.assertNoResult(d)
        self.mq.produce(("builds", "1", "finished"), {"results": 0})
        self.mq.produce(("builds", "2", "finished"), {"results": 2})
        await flushEventualQueue()
        self.assertEqual(self.successResultOf(d), (("builds", "1", "finished"), {"results": 0}))
        # the subscription is gone: nothing more is delivered (nothing to fail on)
        self.mq.produce(("builds", "3", "finished"), {})
        await flushEventualQueue()

    async def test_wait_until_event_already_happened(self) -> None:
        calls: list[str] = []

        def check() -> bool:
            calls.append("check")
            return True

        d = self.mq.waitUntilEvent(("builds", None, "finished"), check)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(calls, ["check"])

    async def test_wait_until_event_sees_event_produced_during_check(self) -> None:
        # the race: the event happens after subscribing but before the check answers
        check_done: defer.Deferred[bool] = defer.Deferred()
        d = self.mq.waitUntilEvent(("builds", "1", "finished"), lambda: check_done)
        self.mq.produce(("builds", "1", "finished"), {"x": 1})
        await flushEventualQueue()
        self.assertNoResult(d)
        check_done.callback(False)
        self.assertEqual(self.successResultOf(d), (("builds", "1", "finished"), {"x": 1}))

    async def test_wait_until_event_async_check(self) -> None:
        async def check() -> bool:
            return True

        self.assertIsNone(await self.mq.waitUntilEvent(("a", None), check))

    async def test_wait_until_event_check_fails(self) -> None:
        def check() -> bool:
            raise ValueError("bad check")

        d = self.mq.waitUntilEvent(("a", None), check)
        self.failureResultOf(d, ValueError)
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()

    async def test_wait_until_event_cancelled(self) -> None:
        seen: list[Any] = []
        d = self.mq.waitUntilEvent(("a", None), lambda: False)
        d.addErrback(lambda f: seen.append(f.type))
        d.cancel()
        self.assertEqual(seen, [defer.CancelledError])
        # the subscription was ended: a new waiter is the only consumer
        d2 = self.mq.waitUntilEvent(("a", None), lambda: False)
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()
        self.assertEqual(self.successResultOf(d2), (("a", "1"), {}))

    async def test_persistent_consumer_gets_backlog(self) -> None:
        qref = await self.consume(("a", None), persistent_name="p")
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()
        qref.stopConsuming()
        self.mq.produce(("a", "2"), {})
        self.mq.produce(("a", "3"), {})
        await flushEventualQueue()
        self.assertEqual([k[1] for k, _ in self.got], ["1"])
        got2: list[Any] = []
        await self.mq.startConsuming(lambda k, d: got2.append(k[1]), ("a", None), "p")
        self.mq.produce(("a", "4"), {})
        await flushEventualQueue()
        self.assertEqual(got2, ["2", "3", "4"])
        # the old handle no longer controls the new subscription
        qref.stopConsuming()
        self.mq.produce(("a", "5"), {})
        await flushEventualQueue()
        self.assertEqual(got2, ["2", "3", "4", "5"])

    async def test_persistent_restart_waits_for_callback_in_progress(self) -> None:
        gate: defer.Deferred[None] = defer.Deferred()
        qref = await self.consume(("a", None), lambda k, d: gate, persistent_name="p")
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()
        qref.stopConsuming()
        self.mq.produce(("a", "2"), {})
        await self.consume(("a", None), persistent_name="p")
        await flushEventualQueue()
        self.assertEqual(self.got, [])
        gate.callback(None)
        await flushEventualQueue()
        self.assertEqual([k for k, _ in self.got], [("a", "2")])

    async def test_persistent_name_twice_while_active_fails(self) -> None:
        await self.consume(("a", None), persistent_name="p")
        with self.assertRaises(ValueError):
            await self.consume(("a", None), persistent_name="p")

    async def test_persistent_restart_with_other_filter_fails(self) -> None:
        qref = await self.consume(("a", None), persistent_name="p")
        qref.stopConsuming()
        with self.assertRaises(ValueError):
            await self.consume(("b", None), persistent_name="p")

    async def test_stop_service_waits_for_callbacks_in_progress(self) -> None:
        gate: defer.Deferred[None] = defer.Deferred()
        await self.mq.startService()
        await self.consume(("a", None), lambda k, d: gate)
        self.mq.produce(("a", "1"), {})
        await flushEventualQueue()
        stopped = self.mq.stopService()
        self.assertNoResult(stopped)
        gate.callback(None)
        self.successResultOf(stopped)


class SimpleMQBehaviour(MQBehaviour, unittest.TestCase):
    def make_mq(self) -> Any:
        return simple.SimpleMQ()

    async def test_wants_any_of(self) -> None:
        # a pattern's None is a part not known yet; a filter's None matches anything
        self.assertFalse(self.mq.wantsAnyOf([("builds", None, "new")]))
        qref = await self.mq.startConsuming(lambda k, d: None, ("builds", "7", None))
        self.assertTrue(self.mq.wantsAnyOf([("builds", None, "new")]))
        self.assertTrue(self.mq.wantsAnyOf([("builds", "7", "finished")]))
        self.assertFalse(self.mq.wantsAnyOf([("builds", "8", "new")]))
        self.assertFalse(self.mq.wantsAnyOf([("builds", None, "steps", None, "new")]))
        self.assertTrue(self.mq.wantsAnyOf([("steps", "1", "new"), ("builds", "7", "steps")]))
        qref.stopConsuming()
        self.assertFalse(self.mq.wantsAnyOf([("builds", "7", "new")]))

    def test_wants_everything_in_debug_mode(self) -> None:
        self.mq.debug = True  # every message is logged
        self.assertTrue(self.mq.wantsAnyOf([("builds", None, "new")]))


class FakeMQBehaviour(MQBehaviour, unittest.TestCase):
    def make_mq(self) -> Any:
        return fakemq.FakeMQConnector(self)

    def test_wants_everything(self) -> None:
        # the fake records every message, so producers must never skip one
        self.assertTrue(self.mq.wantsAnyOf([("builds", None, "new")]))
