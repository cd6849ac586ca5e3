"""What only SimpleMQ does: debug logging, reconfiguration, fairness, backlog bound."""

from __future__ import annotations

import types
from typing import Any

from twisted.python import log
from twisted.trial import unittest

from buildbot.mq import simple
from buildbot.test.reactor import TestReactorMixin
from buildbot.util.eventual import flushEventualQueue


def mq_config(**mq: Any) -> Any:
    return types.SimpleNamespace(mq={"type": "simple", **mq})


class SimpleMQTests(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> None:
        self.setup_test_reactor()
        self.mq = simple.SimpleMQ()
        self.logged: list[str] = []

        def observer(event: dict) -> None:
            if not event.get("isError"):
                self.logged.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)

    async def test_debug_logs_every_message(self) -> None:
        await self.mq.reconfigServiceWithBuildbotConfig(mq_config(debug=True))
        self.mq.produce(("builds", "6", "new"), {"buildid": 6})
        self.assertTrue(any("builds/6/new" in m and "'buildid': 6" in m for m in self.logged))

    async def test_no_debug_logs_nothing(self) -> None:
        await self.mq.reconfigServiceWithBuildbotConfig(mq_config())
        self.mq.produce(("builds", "6", "new"), {"buildid": 6})
        self.assertFalse(any("builds/6/new" in m for m in self.logged))

    async def test_reconfig_switches_debug(self) -> None:
        await self.mq.reconfigServiceWithBuildbotConfig(mq_config(debug=True))
        self.assertTrue(self.mq.debug)
        await self.mq.reconfigServiceWithBuildbotConfig(mq_config(debug=False))
        self.assertFalse(self.mq.debug)

    async def test_self_feeding_consumer_does_not_starve_others(self) -> None:
        journal: list[str] = []

        def feeder(key: tuple, data: Any) -> None:
            journal.append(f"feeder {key[1]}")
            n = int(key[1])
            if n < 3:
                self.mq.produce(("loop", str(n + 1)), {})

        await self.mq.startConsuming(feeder, ("loop", None))
        await self.mq.startConsuming(lambda k, d: journal.append("other"), ("other", None))
        self.mq.produce(("loop", "0"), {})
        self.mq.produce(("other", "x"), {})
        await flushEventualQueue()
        # what a consumer produces for itself waits behind what others already had queued
        self.assertEqual(journal, ["feeder 0", "other", "feeder 1", "feeder 2", "feeder 3"])

    async def test_backlog_of_stopped_persistent_consumer_is_bounded(self) -> None:
        self.mq.max_backlog = 3
        qref = await self.mq.startConsuming(lambda k, d: None, ("a", None), "p")
        qref.stopConsuming()
        for i in range(5):
            self.mq.produce(("a", str(i)), {})
        self.assertEqual(sum("dropping the oldest" in m for m in self.logged), 1)
        got: list[str] = []
        await self.mq.startConsuming(lambda k, d: got.append(k[1]), ("a", None), "p")
        await flushEventualQueue()
        self.assertEqual(got, ["2", "3", "4"])
        self.assertTrue(any("lost 2 messages" in m for m in self.logged))

    async def test_non_persistent_consumer_keeps_nothing_when_stopped(self) -> None:
        qref = await self.mq.startConsuming(lambda k, d: None, ("a", None))
        qref.stopConsuming()
        self.mq.produce(("a", "1"), {})
        got: list[Any] = []
        await self.mq.startConsuming(lambda k, d: got.append(k), ("a", None))
        await flushEventualQueue()
        self.assertEqual(got, [])
        self.assertEqual(len(self.mq._consumers), 1)
