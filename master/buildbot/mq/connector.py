"""``master.mq``: the service that runs the back end chosen by ``c['mq']``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot import config
from buildbot.mq import base
from buildbot.util import service

# type -> (implementation "module:Class" or None when not available, accepted keys)
BACKENDS: dict[str, tuple[str | None, frozenset[str]]] = {
    "simple": ("buildbot.mq.simple:SimpleMQ", frozenset({"debug"})),
    "wamp": (None, frozenset({"router_url", "realm", "wamp_debug_level"})),
}


def check_config(mq_config: Any) -> None:
    """Report problems of a ``c['mq']`` value with `config.error`."""
    if not isinstance(mq_config, dict):
        config.error(f"c['mq'] must be a dict, not {mq_config!r}")
        return
    typ = mq_config.get("type", "simple")
    if typ not in BACKENDS:
        config.error(f"mq type {typ!r} is not known (known: {', '.join(sorted(BACKENDS))})")
        return
    path, keys = BACKENDS[typ]
    if path is None:
        config.error(f"mq type {typ!r} is not supported yet; use {{'type': 'simple'}}")
    unknown = set(mq_config) - keys - {"type"}
    if unknown:
        config.error(f"unrecognized keys in c['mq']: {', '.join(sorted(unknown))}")


class MQConnector(service.ReconfigurableServiceMixin, service.AsyncMultiService):
    """Creates the back end in `setup` (from ``master.config.mq``) and forwards to it."""

    name = "mq"  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.impl: base.MQBase | None = None
        self.impl_type: str | None = None

    def setup(self) -> defer.Deferred[None]:
        """Create the back end as a child and configure it; raises ConfigErrors on a
        type that is unknown or not supported yet."""
        if self.impl is not None:
            raise RuntimeError("MQConnector.setup called twice")
        mq_config = self.master.config.mq
        with config.capture_config_errors(raise_on_error=True):
            check_config(mq_config)
        typ = mq_config.get("type", "simple")
        module_name, _, class_name = BACKENDS[typ][0].partition(":")  # type: ignore[union-attr]
        impl = getattr(importlib.import_module(module_name), class_name)()
        self.impl = impl
        self.impl_type = typ
        d = impl.setServiceParent(self)
        d.addCallback(lambda _: impl.reconfigServiceWithBuildbotConfig(self.master.config))
        return d

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        new_type = new_config.mq.get("type", "simple")
        if self.impl_type is not None and new_type != self.impl_type:
            log.msg(
                f"the mq type cannot change while the master runs (still {self.impl_type!r}, "
                f"not {new_type!r}); restart to use it"
            )
            return defer.succeed(None)
        return super().reconfigServiceWithBuildbotConfig(new_config)

    def _backend(self) -> base.MQBase:
        if self.impl is None:
            raise RuntimeError("the mq is not set up yet (MQConnector.setup)")
        return self.impl

    def produce(self, routingKey: base.RoutingKey, data: Any) -> None:
        self._backend().produce(routingKey, data)

    def wantsAnyOf(self, patterns: Sequence[Sequence[str | None]]) -> bool:
        return self._backend().wantsAnyOf(patterns)

    def startConsuming(
        self,
        callback: base.Callback,
        filter: Sequence[str | None],
        persistent_name: str | None = None,
    ) -> defer.Deferred[base.QueueRef]:
        return self._backend().startConsuming(callback, filter, persistent_name=persistent_name)

    def waitUntilEvent(
        self, filter: Sequence[str | None], check_callback: Callable[[], Any]
    ) -> defer.Deferred[tuple[base.RoutingKey, Any] | None]:
        return self._backend().waitUntilEvent(filter, check_callback)
