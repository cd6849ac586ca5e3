"""Debounced methods: coalesce bursts of calls into fewer runs.

    class LogChunker:
        @debounce.method(wait=1)
        def flush(self):
            ...

``obj.flush()`` asks for a run; the run happens ``wait`` seconds after the
first request of a burst (or after the last one, with ``until_idle=True``),
so every request is followed by at least one run that starts after it.
``obj.flush.stop()`` runs whatever is pending right away and disables further
runs; ``obj.flush.start()`` enables them again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IDelayedCall
from twisted.python import log


class Debouncer:
    """Debounce state for one callable (one method of one instance).

    ``function`` takes no arguments and may return a Deferred; ``get_reactor``
    is called whenever a run has to be scheduled, so the reactor may be
    attached to the owner after the debouncer is created.
    """

    def __init__(
        self,
        wait: float,
        function: Callable[[], Any],
        get_reactor: Callable[[], Any],
        until_idle: bool = False,
    ) -> None:
        self.wait = wait
        self.function = function
        self.get_reactor = get_reactor
        self.until_idle = until_idle
        self._timer: IDelayedCall | None = None
        self._running = False
        # a request arrived while running: one more run is owed
        self._rerun = False
        self._stopped = False
        self._stop_waiters: list[defer.Deferred[None]] = []

    def __call__(self) -> None:
        if self._stopped:
            return
        if self._running:
            self._rerun = True
        elif self._timer is None:
            self._schedule()
        elif self.until_idle:
            self._timer.cancel()
            self._schedule()

    def start(self) -> None:
        """Accept calls again after `stop`."""
        self._stopped = False

    def stop(self, run_pending: bool = True) -> defer.Deferred[None]:
        """Stop accepting calls; fire once no run is pending or in progress.

        A scheduled run is not dropped but started at once; a run owed because
        of calls made during the current run follows it immediately.  With
        ``run_pending=False`` both are dropped instead (for a caller that does the
        final run's work itself), and only a run in progress is waited for.
        """
        self._stopped = True
        d: defer.Deferred[None] = defer.Deferred()
        self._stop_waiters.append(d)
        if not run_pending:
            self._rerun = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            if run_pending:
                self._run()
            else:
                self._notify_stopped()
        elif not self._running:
            self._notify_stopped()
        return d

    def _schedule(self) -> None:
        self._timer = self.get_reactor().callLater(self.wait, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self._run()

    def _run(self) -> None:
        self._running = True
        d = defer.maybeDeferred(self.function)
        d.addErrback(log.err, "in a debounced method")
        d.addCallback(self._run_finished)

    def _run_finished(self, _: Any) -> None:
        self._running = False
        if self._rerun:
            self._rerun = False
            if self._stopped:
                self._run()
            else:
                self._schedule()
        else:
            self._notify_stopped()

    def _notify_stopped(self) -> None:
        waiters, self._stop_waiters = self._stop_waiters, []
        for d in waiters:
            d.callback(None)


def _master_reactor(instance: Any) -> Any:
    return instance.master.reactor


class _DebouncedMethod:
    """Descriptor: each instance gets its own `Debouncer`, created on first
    access and kept in the instance ``__dict__``."""

    def __init__(
        self,
        fn: Callable[[Any], Any],
        wait: float,
        until_idle: bool,
        get_reactor: Callable[[Any], Any],
    ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.wait = wait
        self.until_idle = until_idle
        self.get_reactor = get_reactor
        self._key = f"__debounced_{fn.__qualname__}"

    def __set_name__(self, owner: type, name: str) -> None:
        self._key = f"__debounced_{owner.__qualname__}.{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return instance.__dict__[self._key]
        except KeyError:
            pass
        debouncer = Debouncer(
            self.wait,
            functools.partial(self.fn, instance),
            functools.partial(self.get_reactor, instance),
            self.until_idle,
        )
        instance.__dict__[self._key] = debouncer
        return debouncer


def method(
    wait: float,
    until_idle: bool = False,
    get_reactor: Callable[[Any], Any] | None = None,
) -> Callable[[Callable[[Any], Any]], Any]:
    """Decorate a method taking only ``self`` so that calls to it are debounced.

    ``get_reactor(self)`` supplies the reactor; by default ``self.master.reactor``.
    Calling the decorated method returns None; failures of a run are logged.
    """
    reactor_of = get_reactor if get_reactor is not None else _master_reactor

    def decorate(fn: Callable[[Any], Any]) -> _DebouncedMethod:
        return _DebouncedMethod(fn, wait, until_idle, reactor_of)

    return decorate
