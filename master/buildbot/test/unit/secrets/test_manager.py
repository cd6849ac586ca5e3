from __future__ import annotations

from types import SimpleNamespace

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.process.properties import Interpolate, MissingSecretError, Properties, Secret
from buildbot.secrets.manager import SecretManager
from buildbot.secrets.providers.base import SecretProviderBase
from buildbot.secrets.secret import SecretDetails
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin


class DictProvider(SecretProviderBase):
    def reconfigService(self, secrets):  # type: ignore[override]
        self.secrets = dict(secrets)
        return defer.succeed(None)

    def get(self, entry):
        return defer.succeed(self.secrets.get(entry))


class Broken(SecretProviderBase):
    def get(self, entry):
        return defer.fail(OSError("store unreachable"))


def cfg(*providers):
    return SimpleNamespace(secretsProviders=list(providers))


class SecretManagerTests(TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self)
        self.manager = SecretManager()
        await self.manager.setServiceParent(self.master)
        self.master.secrets_manager = self.manager
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def test_first_provider_in_config_order_wins(self):
        await self.manager.reconfigServiceWithBuildbotConfig(
            cfg(
                DictProvider({"a": "from-one"}, name="one"),
                DictProvider({"a": "from-two", "b": "bee"}, name="two"),
            )
        )
        self.assertEqual((await self.manager.get("a")).value, "from-one")
        self.assertEqual(await self.manager.get("b"), SecretDetails("DictProvider", "b", "bee"))
        self.assertIsNone(await self.manager.get("zzz"))
        # reordered by a reconfig: the order follows the new config
        await self.manager.reconfigServiceWithBuildbotConfig(
            cfg(
                DictProvider({"a": "from-two", "b": "bee"}, name="two"),
                DictProvider({"a": "from-one"}, name="one"),
            )
        )
        self.assertEqual((await self.manager.get("a")).value, "from-two")

    async def test_reconfig_changes_and_removes_providers(self):
        await self.manager.reconfigServiceWithBuildbotConfig(cfg(DictProvider({"a": "1"})))
        first = self.manager.providers()[0]
        self.assertTrue(first.running)
        await self.manager.reconfigServiceWithBuildbotConfig(cfg(DictProvider({"a": "2"})))
        self.assertIs(self.manager.providers()[0], first)  # reconfigured in place
        self.assertEqual((await self.manager.get("a")).value, "2")
        await self.manager.reconfigServiceWithBuildbotConfig(cfg())
        self.assertEqual(self.manager.providers(), [])
        self.assertFalse(first.running)
        self.assertIsNone(await self.manager.get("a"))

    async def test_renderables_use_the_manager(self):
        await self.manager.reconfigServiceWithBuildbotConfig(
            cfg(DictProvider({"tok": "s3cr3t", "ml": "l1\nl2"}))
        )
        props = Properties()
        props.master = self.master
        self.assertEqual(await props.render(Secret("tok")), "s3cr3t")
        self.assertEqual(await props.render(Interpolate("x=%(secret:ml)s")), "x=l1\nl2")
        self.assertEqual(props.cleanupTextFromSecrets("s3cr3t and l1\nl2"), "<tok> and <ml>")
        with self.assertRaises(MissingSecretError) as cm:
            await props.render(Secret("nope"))
        self.assertIn("'nope'", str(cm.exception))

    async def test_a_failing_provider_names_the_secret(self):
        await self.manager.reconfigServiceWithBuildbotConfig(cfg(Broken()))
        props = Properties()
        props.master = self.master
        with self.assertRaises(MissingSecretError) as cm:
            await props.render(Secret("tok"))
        self.assertIn("'tok'", str(cm.exception))
        self.assertIn("store unreachable", str(cm.exception))

    def test_base_provider_must_implement_get(self):
        with self.assertRaises(NotImplementedError):
            SecretProviderBase().get("x")

    def test_details_never_show_the_value(self):
        details = SecretDetails("src", "key", "s3cr3t")
        self.assertNotIn("s3cr3t", repr(details))
        self.assertNotEqual(details, SecretDetails("src", "key", "other"))
        self.assertNotEqual(details, "s3cr3t")


class MasterWiringTests(unittest.TestCase):
    def test_the_master_has_a_secrets_manager(self):
        from buildbot.master import BuildMaster

        m = BuildMaster(self.mktemp())
        self.assertIsInstance(m.secrets_manager, SecretManager)
        self.assertIs(m.namedServices["secrets"], m.secrets_manager)
        # reconfigured before the services that may render secrets
        priorities = {s.name: getattr(s, "reconfig_priority", 0) for s in m.services}
        self.assertEqual(max(priorities, key=priorities.get), "secrets")
