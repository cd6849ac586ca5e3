"""What every change source shares: it runs on one master of a cluster at a time.

Pollers (`ReconfigurablePollingChangeSource`, also known as `PollingChangeSource`)
call their `poll()` every `pollInterval` seconds while active.
"""

from __future__ import annotations

import random
from typing import Any

from twisted.internet import defer, task
from twisted.python import failure, log
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.util import service


@implementer(interfaces.IChangeSource)
class ChangeSource(service.ClusteredBuildbotService):
    """A change source of master.cfg; `activate` starts its work on the master that
    won its claim (through the ``changesource_masters`` table)."""

    clustered_kind = "ChangeSource"

    def describe(self) -> str:
        return self.name


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ReconfigurablePollingChangeSource(ChangeSource):
    """A change source that looks for changes every `pollInterval` seconds.

    Subclasses implement `poll()` (returning a Deferred, or as `async def`). Polls
    never overlap: a poll still running (or still waiting its random delay) when
    the next one is due makes that one be skipped. A failing poll is logged and
    the next one happens at the next interval as usual.

    `pollAtLaunch` polls as soon as the source becomes active rather than one
    interval later; each scheduled poll first waits a random delay between
    `pollRandomDelayMin` and `pollRandomDelayMax`, to spread the load of many
    pollers. `force()` polls now.
    """

    pollInterval: float = 600
    pollAtLaunch: bool = False
    pollRandomDelayMin: float = 0
    pollRandomDelayMax: float = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop: task.LoopingCall | None = None
        self._delayed: Any = None  # the IDelayedCall of a poll waiting its random delay
        self._polling = False
        self._poll_waiters: list[defer.Deferred[None]] = []
        super().__init__(*args, **kwargs)

    def checkConfig(
        self,
        pollInterval: float = 600,
        pollAtLaunch: bool = False,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
    ) -> None:
        owner = type(self).__name__
        if not _is_number(pollInterval) or pollInterval <= 0:
            config.error(f"{owner}: pollInterval must be a positive number, not {pollInterval!r}")
            return
        delays_ok = True
        for label, value in (
            ("pollRandomDelayMin", pollRandomDelayMin),
            ("pollRandomDelayMax", pollRandomDelayMax),
        ):
            if not _is_number(value) or value < 0:
                config.error(f"{owner}: {label} must be a non-negative number, not {value!r}")
                delays_ok = False
        if not delays_ok:
            return
        if pollRandomDelayMin > pollRandomDelayMax:
            config.error(
                f"{owner}: pollRandomDelayMin ({pollRandomDelayMin}) must be less than or "
                f"equal to pollRandomDelayMax ({pollRandomDelayMax})"
            )
        if pollRandomDelayMax >= pollInterval:
            config.error(
                f"{owner}: pollRandomDelayMax ({pollRandomDelayMax}) must be less than "
                f"pollInterval ({pollInterval})"
            )

    async def reconfigService(
        self,
        pollInterval: float = 600,
        pollAtLaunch: bool = False,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
    ) -> None:
        interval_changed = pollInterval != self.pollInterval
        self.pollInterval = pollInterval
        self.pollAtLaunch = pollAtLaunch
        self.pollRandomDelayMin = pollRandomDelayMin
        self.pollRandomDelayMax = pollRandomDelayMax
        if interval_changed and self._loop is not None:
            # the next poll happens one new interval from now
            self._stop_loop()
            self._start_loop(now=False)

    def poll(self) -> Any:
        """Look for changes once; may return a Deferred. Override this."""
        return defer.succeed(None)

    def force(self) -> defer.Deferred[None]:
        """Poll now (after the poll in progress, if any); fires when done. Failures
        are logged, as for scheduled polls."""
        return defer.ensureDeferred(self._force())

    async def _force(self) -> None:
        if self._polling:
            await self._wait_poll()
        if self._delayed is not None and self._delayed.active():
            # the delayed poll is overtaken by this one
            self._delayed.cancel()
            self._delayed = None
        if self._polling:  # another forced poll got there first: it is fresh enough
            await self._wait_poll()
            return
        await self._do_poll()

    async def activate(self) -> None:
        self._start_loop(now=self.pollAtLaunch)

    async def deactivate(self) -> None:
        self._stop_loop()
        if self._delayed is not None and self._delayed.active():
            self._delayed.cancel()
        self._delayed = None
        if self._polling:
            await self._wait_poll()

    def _start_loop(self, now: bool) -> None:
        loop = task.LoopingCall(self._scheduled_poll)
        loop.clock = self.reactor
        self._loop = loop
        d = loop.start(self.pollInterval, now=now)
        d.addErrback(log.err, f"polling of {self.name!r} broke")

    def _stop_loop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and loop.running:
            loop.stop()

    def _scheduled_poll(self) -> None:
        """Called by the loop every interval; never fails, never waits (so that
        the loop keeps its rhythm whatever a poll takes)."""
        if self._polling or (self._delayed is not None and self._delayed.active()):
            log.msg(f"{self.name}: the previous poll is still running; skipping this one")
            return
        low, high = self.pollRandomDelayMin, self.pollRandomDelayMax
        delay = random.uniform(low, high) if high > 0 else 0
        if delay > 0:
            self._delayed = self.reactor.callLater(delay, self._delayed_poll)
        else:
            self._do_poll()

    def _delayed_poll(self) -> None:
        self._delayed = None
        self._do_poll()

    def _do_poll(self) -> defer.Deferred[None]:
        self._polling = True
        d = defer.maybeDeferred(self.poll)
        d.addBoth(self._poll_done)
        return d

    def _poll_done(self, result: Any) -> None:
        self._polling = False
        if isinstance(result, failure.Failure):
            log.err(result, f"{self.name}: while polling for changes")
        waiters, self._poll_waiters = self._poll_waiters, []
        for d in waiters:
            d.callback(None)

    def _wait_poll(self) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        self._poll_waiters.append(d)
        return d


class PollingChangeSource(ReconfigurablePollingChangeSource):
    """The name Buildbot users subclass. Besides at (re)configuration, the poll
    settings are set at construction, for subclasses that read them early."""

    def checkConfig(
        self,
        pollInterval: float = 600,
        pollAtLaunch: bool = False,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
    ) -> None:
        super().checkConfig(
            pollInterval=pollInterval,
            pollAtLaunch=pollAtLaunch,
            pollRandomDelayMin=pollRandomDelayMin,
            pollRandomDelayMax=pollRandomDelayMax,
        )
        self.pollInterval = pollInterval
        self.pollAtLaunch = pollAtLaunch
        self.pollRandomDelayMin = pollRandomDelayMin
        self.pollRandomDelayMax = pollRandomDelayMax
