"""Connecting to the master over PB: login with retries, backoff, keepalives."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.cred import credentials
from twisted.cred import error as cred_error
from twisted.internet import defer, interfaces, task
from twisted.python import log
from twisted.spread import pb

INITIAL_DELAY = 1.0
FACTOR = 1.5
MAX_DELAY = 60.0
JITTER = 1.0


def backoff_delay(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based)."""
    return min(INITIAL_DELAY * FACTOR**attempt, MAX_DELAY) + jitter() * JITTER


class RetryingConnector(service.Service):
    """Connects to the master when started and, after a failure, again with growing
    delays (`backoff_delay`); `max_retries` consecutive failures call `stop()`.
    Subclasses implement `_connect`, which makes one attempt."""

    def __init__(
        self,
        reactor: Any,
        endpoint: interfaces.IStreamClientEndpoint,
        stop: Callable[[], None],
        max_retries: int | None,
        jitter: Callable[[], float],
    ) -> None:
        self.reactor = reactor
        self.endpoint = endpoint
        self.stop = stop
        self.max_retries = max_retries
        self.jitter = jitter
        self.failures = 0
        self._retry: Any = None
        self._attempt: defer.Deferred[Any] | None = None

    def startService(self) -> None:
        super().startService()
        self._connect()

    def _connect(self) -> None:
        raise NotImplementedError

    def _cancel_attempts(self) -> None:
        """No retry pending and no attempt in flight (when stopping)."""
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            self._attempt.cancel()

    def _schedule_retry(self, failed: bool = True) -> None:
        if not self.running or self._retry is not None:
            return
        if failed:
            self.failures += 1
        if self.max_retries is not None and self.failures >= self.max_retries:
            log.msg(f"Giving up after {self.failures} failed connection attempts")
            self.stop()
            return
        delay = backoff_delay(max(self.failures - 1, 0), self.jitter)
        log.msg(f"Retrying the connection in {delay:.1f} seconds")
        self._retry = self.reactor.callLater(delay, self._connect)


class PBConnector(RetryingConnector):
    """Keeps one logged-in PB connection to the master alive.

    `endpoint` is a client endpoint; on success the perspective reference is kept in
    `self.perspective`. A refused
    login is logged and retried with growing delays; any other login error stops the
    worker (`stop()`), as does `max_retries` consecutive failures.
    """

    def __init__(
        self,
        reactor: Any,
        endpoint: interfaces.IStreamClientEndpoint,
        username: bytes,
        password: bytes,
        mind: pb.Referenceable,
        keepalive: float | None,
        stop: Callable[[], None],
        max_retries: int | None = None,
        on_disconnect: Callable[[], None] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(reactor, endpoint, stop, max_retries, jitter)
        self.creds = credentials.UsernamePassword(username, password)
        self.mind = mind
        self.keepalive = keepalive
        self.on_disconnect = on_disconnect
        self.perspective: Any = None
        self.broker: Any = None
        self._keepalive_loop: task.LoopingCall | None = None

    def stopService(self) -> Any:
        super().stopService()
        self._cancel_attempts()
        self._stop_keepalive()
        if self.broker is not None and self.broker.transport is not None:
            self.broker.transport.loseConnection()
        return None

    def _connect(self) -> None:
        self._retry = None
        if not self.running:
            return
        factory = pb.PBClientFactory()
        self._attempt = d = self.endpoint.connect(factory)
        d.addCallback(self._connected, factory)
        d.addCallbacks(self._logged_in, self._failed)
        d.addErrback(log.err, "in the connection logic")

    def _connected(self, broker: Any, factory: pb.PBClientFactory) -> Any:
        self.broker = broker
        for option in ("setTcpKeepAlive", "setTcpNoDelay"):
            # no-delay: a command's small updates go out at once, not after the master's
            # (delayed, up to 40 ms) ACK of the previous one
            try:
                getattr(broker.transport, option)(1)
            except Exception:
                pass
        return factory.login(self.creds, client=self.mind)

    def _logged_in(self, perspective: Any) -> None:
        self._attempt = None
        self.failures = 0
        self.perspective = perspective
        broker = self.broker
        log.msg("Connected to the buildmaster; worker is ready")
        broker.notifyOnDisconnect(lambda: self._lost(broker))
        if self.keepalive:
            loop = self._keepalive_loop = task.LoopingCall(self._send_keepalive)
            loop.clock = self.reactor
            loop.start(self.keepalive, now=False)

    def _send_keepalive(self) -> None:
        if self.perspective is None:
            return
        d = self.perspective.callRemote("keepalive")
        d.addErrback(lambda f: log.msg(f"keepalive failed: {f.getErrorMessage()}"))

    def _stop_keepalive(self) -> None:
        if self._keepalive_loop is not None and self._keepalive_loop.running:
            self._keepalive_loop.stop()
        self._keepalive_loop = None

    def _failed(self, f: Any) -> None:
        self._attempt = None
        if f.check(defer.CancelledError):
            return
        if self.broker is not None and self.broker.transport is not None:
            self.broker.transport.loseConnection()
        self.broker = None
        if f.check(cred_error.UnauthorizedLogin):
            log.msg("Worker login was unauthorized: check the worker name and password")
        elif f.check(pb.PBConnectionLost) or _is_connect_error(f):
            log.msg(f"Connection to the buildmaster failed: {f.getErrorMessage()}")
        else:
            log.msg(f"Login to the buildmaster failed, stopping the worker: {f.value!r}")
            self.stop()
            return
        self._schedule_retry()

    def _lost(self, broker: Any) -> None:
        if broker is not self.broker:
            return
        log.msg("Lost the connection to the buildmaster")
        self.broker = self.perspective = None
        self._stop_keepalive()
        if self.on_disconnect is not None:
            self.on_disconnect()
        self.failures = 0
        self._schedule_retry(failed=False)


def _is_connect_error(f: Any) -> bool:
    from twisted.internet import error

    return bool(f.check(error.ConnectError, error.ConnectionLost, error.ConnectionDone))
