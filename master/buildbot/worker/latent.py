"""Latent workers: workers the master starts for a build and stops when idle.

A subclass says how to start and stop its instance (`start_instance(build)`,
`stop_instance(fast)`, optionally `check_instance()`); this base keeps the state
machine around them:

    NOT_SUBSTANTIATED -> SUBSTANTIATING -> SUBSTANTIATED -> INSUBSTANTIATING -> ...

`substantiate(wfb, build)` is called by the build (its `worker_preparation` step): it
starts the instance (or joins a start already under way, or waits for a stop to end
and starts again) and fires once the worker program has logged in, or fails with the
reason (start error, instance gone, `missing_timeout` without a login). The start
runs on its own, apart from the builds waiting for it: a build that is stopped
cancels its wait, and once no build waits any more the start is abandoned (and what
was started is stopped). A failed start stops what was started and puts the worker
in quarantine, so that the build request goes to another worker or waits. When the
last build ends the worker stops after `build_wait_timeout` seconds (0: at once;
negative: never); reconfig and master shutdown stop it too.

Each change of state is published as the worker's `state_updated` event, its
`latent_state` being `States.api_name` (see `buildbot.data.workers`).
"""

from __future__ import annotations

import enum
from typing import Any

from twisted.internet import defer
from twisted.python import failure, log

from buildbot import config
from buildbot.worker.base import AbstractWorker

#: seconds a worker connection has to go away when we stop the instance
DISCONNECT_TIMEOUT = 5


class States(enum.Enum):
    NOT_SUBSTANTIATED = "not substantiated"
    SUBSTANTIATING = "substantiating"
    SUBSTANTIATED = "substantiated"
    INSUBSTANTIATING = "insubstantiating"

    @property
    def api_name(self) -> str:
        """As the data API shows it: 'not_substantiated', 'substantiating', ..."""
        return self.name.lower()


class LatentWorkerFailedToSubstantiate(Exception):
    """The instance did not come up: it failed to start, exited, or never logged in."""


class LatentWorkerCannotSubstantiate(Exception):
    """The instance cannot be started (a configuration problem)."""


class LatentWorkerSubstantiationCancelled(Exception):
    """The start was abandoned: the master or the worker is stopping."""


LATENT_SETTINGS = ("build_wait_timeout", "check_instance_interval")


class AbstractLatentWorker(AbstractWorker):
    """``AbstractLatentWorker(name, password, build_wait_timeout=600,
    check_instance_interval=10, **worker settings)``; `missing_timeout` (default
    1200) bounds the wait for the started instance to log in."""

    is_latent = True
    default_build_wait_timeout: float = 600
    quarantine_initial_timeout: float = 10
    quarantine_max_timeout: float = 3600

    def __init__(self, name: str, password: Any, *args: Any, **kwargs: Any) -> None:
        self._state = States.NOT_SUBSTANTIATED
        # the state events, published one after the other
        self._publishing: defer.Deferred[None] = defer.succeed(None)
        # set when no build waits any more for the start under way
        self._start_abandoned = False
        self.build_wait_timeout: float = self.default_build_wait_timeout
        self.check_instance_interval: float = 10
        self.quarantine_timeout: float | None = None
        self._quarantine_timer: Any = None
        self._idle_timer: Any = None
        self._attach_waiter: defer.Deferred[None] | None = None
        self._substantiation_waiters: list[defer.Deferred[None]] = []
        self._insubstantiation_waiters: list[defer.Deferred[None]] = []
        self._check_timer: Any = None
        self._insubstantiate_when_idle = False
        self._stopping = False
        kwargs.setdefault("missing_timeout", 1200)
        super().__init__(name, password, *args, **kwargs)

    def checkConfig(  # type: ignore[override]
        self,
        password: Any,
        build_wait_timeout: float | None = None,
        check_instance_interval: float = 10,
        **kwargs: Any,
    ) -> None:
        where = f"worker {self.name!r}"
        if build_wait_timeout is not None and (
            not isinstance(build_wait_timeout, int | float) or isinstance(build_wait_timeout, bool)
        ):
            config.error(f"{where}: build_wait_timeout must be a number")
        if (
            not isinstance(check_instance_interval, int | float)
            or isinstance(check_instance_interval, bool)
            or check_instance_interval <= 0
        ):
            config.error(f"{where}: check_instance_interval must be a positive number")
        super().checkConfig(password, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        password: Any,
        build_wait_timeout: float | None = None,
        check_instance_interval: float = 10,
        **kwargs: Any,
    ) -> None:
        was_configured = getattr(self, "workerid", None) is not None
        if build_wait_timeout is None:
            build_wait_timeout = self.default_build_wait_timeout
        self.build_wait_timeout = build_wait_timeout
        self.check_instance_interval = check_instance_interval
        kwargs.setdefault("missing_timeout", 1200)
        await super().reconfigService(password, **kwargs)
        if was_configured and self.state in (States.SUBSTANTIATING, States.SUBSTANTIATED):
            # the running instance was started with the old settings
            if self.building or self.state is States.SUBSTANTIATING:
                self._insubstantiate_when_idle = True
            else:
                self._insubstantiate_in_background("reconfig")

    # --- what a subclass provides -------------------------------------------------

    def start_instance(self, build: Any) -> defer.Deferred[Any]:
        """Start the instance for `build`; fires True once started (its worker program
        then logs in). Failing, or firing False, is a failed start."""
        raise NotImplementedError

    def stop_instance(self, fast: bool = False) -> defer.Deferred[Any]:
        """Stop and remove the instance; `fast` when the master is stopping."""
        raise NotImplementedError

    def check_instance(self) -> defer.Deferred[tuple[bool, str]]:
        """While we wait for the login: (still running?, why not). Default: running."""
        return defer.succeed((True, ""))

    # --- state ------------------------------------------------------------------------

    @property
    def state(self) -> States:
        return self._state

    @state.setter
    def state(self, new: States) -> None:
        old, self._state = self._state, new
        if new is not old:
            self._publish_state(new)

    def _publish_state(self, state: States) -> None:
        """Publish `workers/<id>/state_updated` for `state`, after the earlier ones."""
        workerid = getattr(self, "workerid", None)
        data = getattr(self.master, "data", None) if self.master is not None else None
        if workerid is None or data is None:
            return

        def publish(_: Any) -> Any:
            return data.updates.workerLatentStateChanged(workerid, state.api_name)

        d = self._publishing.addCallback(publish)
        self._publishing = d.addErrback(log.err, f"latent worker {self.name!r}: state event")

    def isSubstantiated(self) -> bool:
        return self.state is States.SUBSTANTIATED and self.conn is not None

    def canStartBuild(self) -> bool:
        """Not paused, stopping gracefully or in quarantine: an instance not running
        yet (or still stopping) is started for the build."""
        if self.paused or self.graceful or not self.running or self._stopping:
            return False
        return self._quarantine_timer is None

    @property
    def state_string(self) -> str:
        text = self.state.value
        if self._quarantine_timer is not None:
            text += f" (quarantine {self.quarantine_timeout:g} s)"
        return text

    # --- substantiation ---------------------------------------------------------------

    def substantiate(self, wfb: Any, build: Any) -> defer.Deferred[None]:
        """Fires once the worker program is logged in, ready for `build`; fails with
        the reason otherwise. Cancelling the Deferred gives up the wait (the build was
        stopped): a start no other build waits for is then abandoned."""
        return defer.ensureDeferred(self._substantiate(build))

    async def _substantiate(self, build: Any) -> None:
        self._cancel_idle_timer()
        while True:
            if self.state is States.SUBSTANTIATED and self.conn is not None:
                return
            if self.state is States.SUBSTANTIATED:
                # the worker went away; its cleanup is on the way
                self._insubstantiate_in_background("worker lost")
                continue
            if self.state is States.INSUBSTANTIATING or (
                self.state is States.SUBSTANTIATING and self._start_abandoned
            ):
                # a stop (or an abandoned start) to end first, then a fresh start
                await self._wait(self._insubstantiation_waiters)
                continue
            if self.state is States.NOT_SUBSTANTIATED and (not self.running or self._stopping):
                raise LatentWorkerSubstantiationCancelled(f"worker {self.name!r} is stopping")
            waiter = self._wait(self._substantiation_waiters)
            if self.state is States.NOT_SUBSTANTIATED:
                # on its own: a build giving up its wait must not cancel the start
                defer.ensureDeferred(self._start(build))
            try:
                await waiter
            except defer.CancelledError:
                if not any(not d.called for d in self._substantiation_waiters):
                    self._abandon_start("no build waits for it any more")
                raise
            return

    @staticmethod
    def _wait(waiters: list[defer.Deferred[None]]) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        waiters.append(d)
        return d

    @staticmethod
    def _fire(waiters: list[defer.Deferred[None]], result: Any = None) -> None:
        pending = [d for d in waiters if not d.called]  # a cancelled wait is called
        waiters.clear()
        for d in pending:
            if isinstance(result, failure.Failure):
                d.errback(result)
            else:
                d.callback(result)

    async def _start(self, build: Any) -> None:
        """Start the instance and wait for its login; the builds waiting in
        `_substantiation_waiters` get the outcome. Never fails."""
        self.state = States.SUBSTANTIATING
        self._start_abandoned = False
        waiter: defer.Deferred[None] = defer.Deferred()
        self._attach_waiter = waiter
        reactor = self.master.reactor
        log.msg(f"latent worker {self.name!r}: substantiating")
        timeout = None
        try:
            started = await defer.maybeDeferred(self.start_instance, build)
            if started is False:
                raise LatentWorkerFailedToSubstantiate(
                    f"worker {self.name!r}: the instance did not start"
                )
            if not waiter.called:
                if self.missing_timeout:
                    timeout = reactor.callLater(
                        self.missing_timeout,
                        self.failSubstantiation,
                        f"the worker did not connect within {self.missing_timeout:g} s",
                    )
                self._schedule_check()
            await waiter
        except Exception as e:
            why = failure.Failure()
            if waiter.called:
                waiter.addErrback(lambda _: None)  # abandoned while start_instance ran
            else:
                waiter.callback(None)  # nobody waits for it any more
            self._attach_waiter = None
            self._stop_check()
            if timeout is not None and timeout.active():
                timeout.cancel()
            log.msg(f"latent worker {self.name!r}: failed to substantiate: {e}")
            # the builds of this start: those coming during the cleanup wait for it
            # to end and start again
            waiting = list(self._substantiation_waiters)
            self._substantiation_waiters.clear()
            if self._start_abandoned or isinstance(e, LatentWorkerSubstantiationCancelled):
                pass  # given up on purpose: no failure of the worker, no quarantine
            else:
                self._put_in_quarantine()
                if not isinstance(
                    e, LatentWorkerFailedToSubstantiate | LatentWorkerCannotSubstantiate
                ):
                    why = failure.Failure(
                        LatentWorkerFailedToSubstantiate(f"worker {self.name!r}: {e}")
                    )
            # with no start under way any more, this stops what was started
            await self._insubstantiate(fast=True)
            self._fire(waiting, why)
            return
        self._attach_waiter = None
        self._stop_check()
        if timeout is not None and timeout.active():
            timeout.cancel()
        self.state = States.SUBSTANTIATED
        log.msg(f"latent worker {self.name!r}: substantiated")
        self._fire(self._substantiation_waiters)

    def failSubstantiation(self, reason: str) -> None:
        """Fail the start under way (timeout, instance gone)."""
        waiter = self._attach_waiter
        if waiter is not None and not waiter.called:
            waiter.errback(LatentWorkerFailedToSubstantiate(f"worker {self.name!r}: {reason}"))

    def _abandon_start(self, reason: str) -> None:
        """Give up the start under way (no build wants it, or we are stopping): what
        was started is stopped, without quarantine."""
        waiter = self._attach_waiter
        if waiter is not None and not waiter.called:
            log.msg(f"latent worker {self.name!r}: abandoning its start: {reason}")
            self._start_abandoned = True
            waiter.errback(LatentWorkerSubstantiationCancelled(f"worker {self.name!r}: {reason}"))

    # watching the instance while it starts

    def _schedule_check(self) -> None:
        self._stop_check()
        if self._attach_waiter is not None:
            self._check_timer = self.master.reactor.callLater(
                self.check_instance_interval, self._check
            )

    def _stop_check(self) -> None:
        if self._check_timer is not None and self._check_timer.active():
            self._check_timer.cancel()
        self._check_timer = None

    def _check(self) -> defer.Deferred[None]:
        self._check_timer = None
        waiter = self._attach_waiter
        d = defer.maybeDeferred(self.check_instance)

        def checked(result: tuple[bool, str]) -> None:
            if waiter is not self._attach_waiter or waiter is None or waiter.called:
                return
            alive, why = result
            if not alive:
                self.failSubstantiation(why or "the instance stopped")
            else:
                self._schedule_check()

        def failed(f: failure.Failure) -> None:
            log.err(f, f"latent worker {self.name!r}: while checking the instance")
            if waiter is self._attach_waiter:
                self._schedule_check()

        return d.addCallbacks(checked, failed)

    # --- quarantine -----------------------------------------------------------------

    def _put_in_quarantine(self) -> None:
        if self.quarantine_timeout is None:
            self.quarantine_timeout = self.quarantine_initial_timeout
        else:
            self.quarantine_timeout = min(self.quarantine_timeout * 2, self.quarantine_max_timeout)
        if self._quarantine_timer is not None and self._quarantine_timer.active():
            self._quarantine_timer.cancel()
        log.msg(f"worker {self.name!r}: quarantine for {self.quarantine_timeout:g} s")
        self._quarantine_timer = self.master.reactor.callLater(
            self.quarantine_timeout, self._quarantine_over
        )

    def _quarantine_over(self) -> None:
        self._quarantine_timer = None
        self._maybe_start_builds()

    def resetQuarantine(self) -> None:
        self.quarantine_timeout = None
        self._stop_quarantine_timer()

    def _stop_quarantine_timer(self) -> None:
        if self._quarantine_timer is not None and self._quarantine_timer.active():
            self._quarantine_timer.cancel()
        self._quarantine_timer = None

    # --- the connection ----------------------------------------------------------------

    async def attached(self, conn: Any) -> None:
        waiter = self._attach_waiter
        if self.state is not States.SUBSTANTIATING or waiter is None or waiter.called:
            raise RuntimeError(
                f"latent worker {self.name!r} logged in while {self.state.value}: refused"
            )
        await super().attached(conn)
        if not waiter.called:
            waiter.callback(None)

    async def _detached(self) -> None:
        await super()._detached()
        if self.state is States.SUBSTANTIATED:
            log.msg(f"latent worker {self.name!r}: lost its worker; stopping the instance")
            self._insubstantiate_in_background("worker lost")
        elif self.state is States.SUBSTANTIATING:
            self.failSubstantiation("the worker disconnected while starting")

    def _start_missing_timer(self) -> None:
        # a latent worker is away on purpose between builds; a start that does not
        # connect fails the substantiation instead
        pass

    # --- builds ---------------------------------------------------------------------------

    def buildStarted(self, wfb: Any) -> None:
        self._cancel_idle_timer()

    def buildFinished(self, wfb: Any, results: int | None = None) -> None:
        from buildbot.process.results import EXCEPTION, RETRY

        if results is not None:
            if results == EXCEPTION:
                self._put_in_quarantine()
            elif results != RETRY:
                self.resetQuarantine()
        if self.building or self.state is not States.SUBSTANTIATED:
            return
        if self._insubstantiate_when_idle or self.build_wait_timeout == 0:
            self._insubstantiate_in_background("idle")
        elif self.build_wait_timeout > 0:
            self._cancel_idle_timer()
            self._idle_timer = self.master.reactor.callLater(
                self.build_wait_timeout, self._idle_timeout
            )

    def _idle_timeout(self) -> None:
        self._idle_timer = None
        if not self.building and self.state is States.SUBSTANTIATED:
            self._insubstantiate_in_background("idle timeout")

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None and self._idle_timer.active():
            self._idle_timer.cancel()
        self._idle_timer = None

    # --- insubstantiation ---------------------------------------------------------------

    def insubstantiate(self, fast: bool = False) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._insubstantiate(fast))

    def _insubstantiate_in_background(self, why: str) -> None:
        log.msg(f"latent worker {self.name!r}: insubstantiating ({why})")
        self.insubstantiate().addErrback(log.err, f"latent worker {self.name!r}: insubstantiate")

    async def _insubstantiate(self, fast: bool) -> None:
        """Stop the instance, whatever the state: a start under way is abandoned
        (its own cleanup comes back here once no start is under way any more)."""
        self._cancel_idle_timer()
        if self.state is States.NOT_SUBSTANTIATED:
            return
        if self.state is States.INSUBSTANTIATING:
            await self._wait(self._insubstantiation_waiters)
            return
        if self.state is States.SUBSTANTIATING and self._attach_waiter is not None:
            self._abandon_start("the worker is being stopped")
            await self._wait(self._insubstantiation_waiters)
            return
        self.state = States.INSUBSTANTIATING
        self._insubstantiate_when_idle = False
        try:
            if self.conn is not None:
                await self._drop_connection()
            await defer.maybeDeferred(self.stop_instance, fast)
        except Exception:
            log.err(failure.Failure(), f"latent worker {self.name!r}: while stopping")
        self.state = States.NOT_SUBSTANTIATED
        log.msg(f"latent worker {self.name!r}: insubstantiated")
        self._fire(self._insubstantiation_waiters)

    async def _drop_connection(self) -> None:
        conn = self.conn
        if conn is None:
            return
        gone = conn.waitForDisconnect()
        conn.loseConnection()
        gone.addTimeout(DISCONNECT_TIMEOUT, self.master.reactor)
        try:
            await gone
        except defer.TimeoutError:
            conn.notifyDisconnected()
        if self._detaching is not None:
            await self._detaching

    async def startService(self) -> None:  # type: ignore[override]
        self._stopping = False
        await super().startService()

    async def stopService(self) -> None:  # type: ignore[override]
        self._stopping = True
        self._cancel_idle_timer()
        self._stop_quarantine_timer()
        self._stop_check()
        try:
            await self._insubstantiate(fast=True)
        except Exception:
            log.err(failure.Failure(), f"latent worker {self.name!r}: while stopping")
        await self._publishing  # the last state events, while the data API is there
        await super().stopService()
