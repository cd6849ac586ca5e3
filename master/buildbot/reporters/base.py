"""The base of every reporter: MQ events in, generated reports out.

A reporter is a `BuildbotService` configured with report generators. It subscribes to
the union of their `wanted_event_keys`; on each event every interested generator may
produce a report (a dict, see `buildbot.reporters.generators`), and the reports of one
event go together to `sendMessage`.

Reporting must never slow down or break a build, so the MQ callback only queues the
event: a per-reporter worker handles events one after the other, in arrival order,
and logs whatever goes wrong.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from twisted.internet import defer, task
from twisted.python import log

from buildbot import config
from buildbot.mq.base import matchTuple
from buildbot.reporters import utils
from buildbot.util import service

ENCODING = "utf-8"


def _is_server_error(result: Any) -> bool:
    code = getattr(result, "code", None)
    return isinstance(code, int) and code >= 500


async def retry_with_backoff(
    reactor: Any,
    fn: Callable[[], Awaitable[Any] | Any],
    what: str,
    tries: int = 3,
    first_delay: float = 1.0,
    should_retry: Callable[[Any], bool] = _is_server_error,
) -> Any:
    """Call `fn()` until it succeeds, at most `tries` times, waiting `first_delay`
    seconds on `reactor` after the first failure and twice as long after each next one.

    A failure is an exception, or a result for which `should_retry` is true (by
    default: a response with an HTTP status of 500 or more). Each failure is logged
    with `what`. Returns the first good result, or the last result if every try
    returned a bad one; raises the last exception if the last try raised.
    """
    delay = first_delay
    for attempt in range(1, tries + 1):
        last = attempt == tries
        try:
            result = await defer.maybeDeferred(fn)
        except Exception as e:
            if last:
                log.msg(f"{what}: failed {tries} times, giving up: {e!r}")
                raise
            log.msg(f"{what}: attempt {attempt} failed ({e!r}); retrying in {delay:g}s")
        else:
            if not should_retry(result):
                return result
            code = getattr(result, "code", result)
            if last:
                log.msg(f"{what}: failed {tries} times, giving up (last answer: {code})")
                return result
            log.msg(f"{what}: attempt {attempt} answered {code}; retrying in {delay:g}s")
        await task.deferLater(reactor, delay, lambda: None)
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


class ReporterBase(service.BuildbotService):
    """Subscribes to its generators' events and sends their reports.

    Subclasses implement `sendMessage(reports)`, and usually extend `checkConfig` and
    `reconfigService` with their own arguments, passing `generators` on.
    """

    name: str | None = None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.generators: list[Any] = []
        self._event_consumers: list[Any] = []
        self._pending: deque[tuple[tuple[str, ...], Any]] = deque()
        self._worker: defer.Deferred[None] | None = None  # set while events are handled
        self._idle_waiters: list[defer.Deferred[None]] = []
        super().__init__(*args, **kwargs)

    def checkConfig(self, generators: Sequence[Any] | None = None, **kwargs: Any) -> None:
        if generators is None:
            return
        if not isinstance(generators, (list, tuple)):
            config.error(f"{type(self).__name__}: generators must be a list, not {generators!r}")
            return
        for g in generators:
            if not hasattr(g, "generate") or not hasattr(g, "wanted_event_keys"):
                config.error(f"{type(self).__name__}: {g!r} is not a report generator")
            elif hasattr(g, "check"):
                g.check()

    async def reconfigService(self, generators: Sequence[Any] | None = None, **kwargs: Any) -> None:
        self.generators = list(generators or [])
        await self._subscribe()

    async def _subscribe(self) -> None:
        self._unsubscribe()
        keys: list[tuple[Any, ...]] = []
        for g in self.generators:
            for key in g.wanted_event_keys:
                key = tuple(key)
                if key not in keys:
                    keys.append(key)
        for key in keys:
            qref = await self.master.mq.startConsuming(self._got_event, key)
            self._event_consumers.append(qref)

    def _unsubscribe(self) -> None:
        consumers, self._event_consumers = self._event_consumers, []
        for qref in consumers:
            qref.stopConsuming()

    @service._returns_deferred
    async def startService(self) -> None:  # type: ignore[override]
        await service.BuildbotService.startService(self)
        # started again after a stop: the configuration is kept, the subscriptions not
        if not self._event_consumers:
            await self._subscribe()

    @service._returns_deferred
    async def stopService(self) -> None:  # type: ignore[override]
        self._unsubscribe()
        # a report in flight is let finish; queued ones would only delay the shutdown
        if self._pending:
            log.msg(f"{self.name}: stopping, {len(self._pending)} event(s) not reported")
            self._pending.clear()
        await self.wait_idle()
        await service.BuildbotService.stopService(self)

    # --- event handling -------------------------------------------------------------

    def _got_event(self, key: Sequence[str], msg: Any) -> None:
        self._pending.append((tuple(key), msg))
        if self._worker is None:
            # set before starting: _work may finish synchronously and clear it
            self._worker = defer.Deferred()
            defer.ensureDeferred(self._work())

    async def _work(self) -> None:
        try:
            while self._pending:
                key, msg = self._pending.popleft()
                try:
                    await self._handle_event(key, msg)
                except Exception:
                    log.err(None, f"{self.name}: while reporting {'/'.join(key)}")
        finally:
            self._worker = None
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(None)

    async def _handle_event(self, key: tuple[str, ...], msg: Any) -> None:
        reports = []
        for g in list(self.generators):
            if not any(matchTuple(key, tuple(k)) for k in g.wanted_event_keys):
                continue
            try:
                report = await defer.maybeDeferred(g.generate, self.master, self, key, msg)
            except Exception:
                log.err(None, f"{self.name}: generator {g!r} failed on {'/'.join(key)}")
                continue
            if report is not None:
                reports.append(report)
        if reports:
            await defer.maybeDeferred(self.sendMessage, reports)

    def wait_idle(self) -> defer.Deferred[None]:
        """Fires when every event received so far has been reported (or failed)."""
        if self._worker is None:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._idle_waiters.append(d)
        return d

    def sendMessage(self, reports: list[dict[str, Any]]) -> Any:
        """Send the reports generated for one event (a Deferred or a value)."""
        raise NotImplementedError

    def getResponsibleUsersForBuild(self, master: Any, buildid: int) -> defer.Deferred[list[str]]:
        return utils.getResponsibleUsersForBuild(master, buildid)
