"""What only the fake does: the record of productions, message checks, callConsumer."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.test.fake import fakemaster, fakemq
from buildbot.test.reactor import TestReactorMixin


class FakeMQTests(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> None:
        self.setup_test_reactor()
        self.mq = fakemq.FakeMQConnector(self)

    def test_records_productions(self) -> None:
        self.mq.produce(("builds", "1", "new"), {"a": 1})
        self.mq.produce(("builds", "1", "finished"), {"a": 2})
        self.assertEqual(
            self.mq.productions,
            [(("builds", "1", "new"), {"a": 1}), (("builds", "1", "finished"), {"a": 2})],
        )

    def test_assert_productions_in_order_then_forgets(self) -> None:
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        self.mq.assertProductions([(("a", "1"), {}), (("a", "2"), {})])
        self.assertEqual(self.mq.productions, [])
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        with self.assertRaises(self.failureException):
            self.mq.assertProductions([(("a", "2"), {}), (("a", "1"), {})])

    def test_assert_productions_any_order(self) -> None:
        self.mq.produce(("a", "1"), {"x": 1})
        self.mq.produce(("a", "2"), {"x": 2})
        self.mq.assertProductions([(("a", "2"), {"x": 2}), (("a", "1"), {"x": 1})], False)
        self.mq.produce(("a", "1"), {})
        with self.assertRaises(self.failureException):
            self.mq.assertProductions([(("a", "1"), {}), (("a", "1"), {})], orderMatters=False)
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        with self.assertRaises(self.failureException):
            self.mq.assertProductions([(("a", "1"), {})], orderMatters=False)

    def test_verify_messages(self) -> None:
        for key, data in [
            (["a", "1"], {}),
            (("a", 1), {}),
            (("a", None), {}),
            (("a", "1"), [1]),
            (("a", "1"), {1: "x"}),
        ]:
            with self.assertRaises(self.failureException, msg=repr((key, data))):
                self.mq.produce(key, data)
        self.assertEqual(self.mq.productions, [])

    def test_null_body_allowed(self) -> None:
        self.mq.produce(("buildrequests", "8", "cancel"), None)
        self.mq.assertProductions([(("buildrequests", "8", "cancel"), None)])

    def test_verify_filter(self) -> None:
        with self.assertRaises(self.failureException):
            self.mq.startConsuming(lambda k, d: None, ["a", None])
        with self.assertRaises(self.failureException):
            self.mq.startConsuming(lambda k, d: None, ("a", 1))

    def test_verify_off(self) -> None:
        self.mq.verifyMessages = False
        self.mq.produce(("a", 1), "anything")
        self.assertEqual(self.mq.productions, [(("a", 1), "anything")])

    async def test_call_consumer_calls_matching_consumers_now(self) -> None:
        got: list[Any] = []
        gate: defer.Deferred[None] = defer.Deferred()

        def slow(key: tuple, data: Any) -> defer.Deferred[None]:
            got.append(("slow", key, data))
            return gate

        await self.mq.startConsuming(slow, ("a", None))
        await self.mq.startConsuming(lambda k, d: got.append(("fast", k, d)), (None, "1"))
        await self.mq.startConsuming(lambda k, d: got.append(("other", k, d)), ("b", None))
        d = self.mq.callConsumer(("a", "1"), {"x": 1})
        self.assertEqual(got, [("slow", ("a", "1"), {"x": 1}), ("fast", ("a", "1"), {"x": 1})])
        self.assertNoResult(d)
        gate.callback(None)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.mq.productions, [])

    def test_call_consumer_without_consumer_fails(self) -> None:
        with self.assertRaises(self.failureException):
            self.mq.callConsumer(("a", "1"), {})

    async def test_call_consumer_skips_stopped_consumer(self) -> None:
        qref = await self.mq.startConsuming(lambda k, d: None, ("a", None))
        qref.stopConsuming()
        with self.assertRaises(self.failureException):
            self.mq.callConsumer(("a", "1"), {})

    async def test_is_the_mq_service_of_a_fake_master(self) -> None:
        # what make_master(wantMq=True) does
        master = fakemaster.make_master(self)
        master.mq = self.mq
        await self.mq.setServiceParent(master)
        await master.startService()
        self.assertIs(master.getServiceNamed("mq"), self.mq)
        await self.mq.setup()
        await self.mq.reconfigServiceWithBuildbotConfig(object())
        await master.stopService()
