"""The secrets manager: `master.secrets_manager`, asking its providers in config order."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.secrets.secret import SecretDetails
from buildbot.util import service


class SecretManager(service.BuildbotServiceManager):
    """Keeps one child per provider of c['secretsProviders'] and answers `get(name)`.

    Reconfigured before the other services (some of them render secrets while they
    reconfigure, like worker passwords)."""

    config_attr = "secretsProviders"
    name = "secrets"  # type: ignore[assignment]
    reconfig_priority = 2000

    def __init__(self) -> None:
        super().__init__()
        self._order: list[str] = []

    @defer.inlineCallbacks
    def reconfigServiceWithBuildbotConfig(self, new_config: Any):
        providers = getattr(new_config, self.config_attr, None) or []
        yield super().reconfigServiceWithBuildbotConfig(new_config)
        self._order = [p.name for p in providers]

    def providers(self) -> list[Any]:
        """The running providers, in the order the configuration lists them."""
        named = self.namedServices
        return [named[n] for n in self._order if n in named]

    def get(self, secret: str) -> defer.Deferred[SecretDetails | None]:
        """The first provider's answer for `secret`, or None if none knows it."""
        return defer.ensureDeferred(self._get(secret))

    async def _get(self, secret: str) -> SecretDetails | None:
        for provider in self.providers():
            value = await defer.maybeDeferred(provider.get, secret)
            if value is not None:
                return SecretDetails(type(provider).__name__, secret, value)
        return None
