"""What every secret provider is."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.util import service


class SecretProviderBase(service.BuildbotService):
    """A reconfigurable service answering `get(name)`: a Deferred firing with the
    secret's value (a str), or None when this provider does not know it."""

    def get(self, entry: str) -> defer.Deferred[str | None]:
        raise NotImplementedError

    def _io_reactor(self) -> Any:
        """The master's reactor, or the global one for a provider used on its own."""
        reactor = self.reactor
        if reactor is None:
            from twisted.internet import reactor
        return reactor
