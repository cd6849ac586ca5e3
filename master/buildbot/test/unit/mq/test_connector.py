"""The mq service: choosing the back end from c['mq'], forwarding, reconfiguration."""

from __future__ import annotations

import types
from typing import Any

from twisted.python import log
from twisted.trial import unittest

from buildbot import config
from buildbot.mq import connector, simple
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util.eventual import flushEventualQueue


def cfg(**mq: Any) -> Any:
    return types.SimpleNamespace(mq=mq)


class CheckConfig(unittest.TestCase):
    def errors(self, value: Any) -> list[str]:
        with config.capture_config_errors() as errors:
            connector.check_config(value)
        return errors.errors

    def test_good(self) -> None:
        self.assertEqual(self.errors({"type": "simple"}), [])
        self.assertEqual(self.errors({"type": "simple", "debug": True}), [])
        self.assertEqual(self.errors({}), [])

    def test_wamp_not_supported_yet(self) -> None:
        [error] = self.errors({"type": "wamp", "router_url": "ws://x", "realm": "r"})
        self.assertIn("not supported yet", error)

    def test_unknown_type(self) -> None:
        [error] = self.errors({"type": "amqp"})
        self.assertIn("'amqp'", error)

    def test_unknown_keys(self) -> None:
        [error] = self.errors({"type": "simple", "realm": "r", "debgu": True})
        self.assertIn("debgu", error)
        self.assertIn("realm", error)

    def test_not_a_dict(self) -> None:
        self.assertEqual(len(self.errors("simple")), 1)


class MQConnectorTests(TestReactorMixin, unittest.TestCase):
    def setUp(self) -> None:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self)
        self.mq = connector.MQConnector()
        self.master.mq = self.mq

    async def start(self, **mq: Any) -> None:
        self.master.config = cfg(**mq)
        await self.mq.setServiceParent(self.master)
        await self.mq.setup()
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def test_simple(self) -> None:
        await self.start(type="simple", debug=True)
        self.assertIsInstance(self.mq.impl, simple.SimpleMQ)
        self.assertTrue(self.mq.impl.running)
        self.assertTrue(self.mq.impl.debug)
        self.assertIs(self.master.getServiceNamed("mq"), self.mq)

    async def test_default_type_is_simple(self) -> None:
        await self.start()
        self.assertIsInstance(self.mq.impl, simple.SimpleMQ)
        self.assertFalse(self.mq.impl.debug)

    async def test_wamp_is_a_config_error(self) -> None:
        self.master.config = cfg(type="wamp", router_url="ws://x", realm="r")
        await self.mq.setServiceParent(self.master)
        with self.assertRaises(config.ConfigErrors) as cm:
            await self.mq.setup()
        self.assertIn("not supported yet", str(cm.exception))
        self.assertIsNone(self.mq.impl)

    async def test_forwards(self) -> None:
        await self.start(type="simple")
        got: list[Any] = []
        qref = await self.mq.startConsuming(lambda k, d: got.append(k), ("a", None))
        waiting = self.mq.waitUntilEvent(("a", "2"), lambda: False)
        self.mq.produce(("a", "1"), {})
        self.mq.produce(("a", "2"), {})
        await flushEventualQueue()
        self.assertEqual(got, [("a", "1"), ("a", "2")])
        self.assertEqual(self.successResultOf(waiting), (("a", "2"), {}))
        qref.stopConsuming()

    async def test_persistent_name_forwarded(self) -> None:
        await self.start(type="simple")
        await self.mq.startConsuming(lambda k, d: None, ("a", None), persistent_name="p")
        with self.assertRaises(ValueError):
            await self.mq.startConsuming(lambda k, d: None, ("a", None), persistent_name="p")

    def test_use_before_setup_is_an_error(self) -> None:
        with self.assertRaises(RuntimeError):
            self.mq.produce(("a", "1"), {})

    async def test_setup_twice_is_an_error(self) -> None:
        await self.start(type="simple")
        with self.assertRaises(RuntimeError):
            self.mq.setup()

    async def test_reconfig_changes_debug(self) -> None:
        await self.start(type="simple")
        await self.mq.reconfigServiceWithBuildbotConfig(cfg(type="simple", debug=True))
        self.assertTrue(self.mq.impl.debug)

    async def test_reconfig_refuses_type_change(self) -> None:
        await self.start(type="simple")
        messages: list[str] = []

        def observer(event: dict) -> None:
            messages.append(log.textFromEventDict(event) or "")

        log.addObserver(observer)
        self.addCleanup(log.removeObserver, observer)
        impl = self.mq.impl
        await self.mq.reconfigServiceWithBuildbotConfig(cfg(type="wamp", debug=True))
        self.assertIs(self.mq.impl, impl)
        self.assertEqual(self.mq.impl_type, "simple")
        self.assertFalse(impl.debug)
        self.assertTrue(any("cannot change" in m for m in messages))
