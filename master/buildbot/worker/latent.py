"""Latent workers: workers the master starts for a build and stops when idle.

A subclass says how to start and stop its instance (`start_instance(build)`,
`stop_instance(fast)`, optionally `check_instance()`); this base keeps the state
machine around them:

    NOT_SUBSTANTIATED -> SUBSTANTIATING -> SUBSTANTIATED -> INSUBSTANTIATING -> ...

`substantiate(wfb, build)` is called by the builder before a build runs: it starts
the instance (or joins a start already under way, or waits for a stop to end and
starts again) and fires once the worker program has logged in, or fails with the
reason (start error, instance gone, `missing_timeout` without a login). A failed
start stops what was started and puts the worker in quarantine, so that the build
request goes to another worker or waits. When the last build ends the worker stops
after `build_wait_timeout` seconds (0: at once; negative: never); reconfig and
master shutdown stop it too.
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
        self.state = States.NOT_SUBSTANTIATED
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
        the reason otherwise."""
        return defer.ensureDeferred(self._substantiate(build))

    async def _substantiate(self, build: Any) -> None:
        self._cancel_idle_timer()
        while True:
            if self.state is States.SUBSTANTIATED and self.conn is not None:
                return
            if self.state is States.SUBSTANTIATED:
                # the worker went away; its cleanup is on the way
                await self._insubstantiate(fast=False)
                continue
            if self.state is States.INSUBSTANTIATING:
                await self._wait(self._insubstantiation_waiters)
                continue
            if self.state is States.SUBSTANTIATING:
                await self._wait(self._substantiation_waiters)
                return
            if not self.running or self._stopping:
                raise LatentWorkerSubstantiationCancelled(f"worker {self.name!r} is stopping")
            await self._start(build)
            return

    @staticmethod
    def _wait(waiters: list[defer.Deferred[None]]) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        waiters.append(d)
        return d

    @staticmethod
    def _fire(waiters: list[defer.Deferred[None]], result: Any = None) -> None:
        pending = list(waiters)
        waiters.clear()
        for d in pending:
            if isinstance(result, failure.Failure):
                d.errback(result)
            else:
                d.callback(result)

    async def _start(self, build: Any) -> None:
        self.state = States.SUBSTANTIATING
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
            if not waiter.called:
                waiter.callback(None)  # nobody waits for it any more
            self._attach_waiter = None
            self._stop_check()
            if timeout is not None and timeout.active():
                timeout.cancel()
            log.msg(f"latent worker {self.name!r}: failed to substantiate: {e}")
            await self._cleanup_failed_start()
            self._put_in_quarantine()
            if not isinstance(e, LatentWorkerFailedToSubstantiate | LatentWorkerCannotSubstantiate):
                why = failure.Failure(
                    LatentWorkerFailedToSubstantiate(f"worker {self.name!r}: {e}")
                )
            self._fire(self._substantiation_waiters, why)
            why.raiseException()
        self._attach_waiter = None
        self._stop_check()
        if timeout is not None and timeout.active():
            timeout.cancel()
        self.state = States.SUBSTANTIATED
        log.msg(f"latent worker {self.name!r}: substantiated")
        self._fire(self._substantiation_waiters)

    def failSubstantiation(self, reason: str) -> None:
        """Abandon the start under way (timeout, instance gone, stopping)."""
        waiter = self._attach_waiter
        if waiter is not None and not waiter.called:
            waiter.errback(LatentWorkerFailedToSubstantiate(f"worker {self.name!r}: {reason}"))

    async def _cleanup_failed_start(self) -> None:
        self.state = States.INSUBSTANTIATING
        try:
            if self.conn is not None:
                await self._drop_connection()
            await defer.maybeDeferred(self.stop_instance, True)
        except Exception:
            log.err(failure.Failure(), f"latent worker {self.name!r}: while cleaning up")
        self.state = States.NOT_SUBSTANTIATED
        self._fire(self._insubstantiation_waiters)

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
        self._cancel_idle_timer()
        if self.state is States.NOT_SUBSTANTIATED:
            return
        if self.state is States.INSUBSTANTIATING:
            await self._wait(self._insubstantiation_waiters)
            return
        if self.state is States.SUBSTANTIATING:
            self.failSubstantiation("the worker is being stopped")
            # the failed start stops the instance itself
            try:
                await self._wait(self._substantiation_waiters)
            except Exception:
                pass
            if self.state is States.INSUBSTANTIATING:
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
        await super().stopService()
