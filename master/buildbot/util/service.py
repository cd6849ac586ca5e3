"""Services whose start and stop are asynchronous, and the reconfigurable service tree.

Twisted's `startService`/`stopService` are fire-and-forget. The master needs to
know when a service is really up (registered in the database, subscribed to the
message queue...) before it goes on, so every service here returns a Deferred
from `startService`, `stopService`, `addService`, `removeService`,
`setServiceParent` and `disownServiceParent`, and a parent's Deferred fires only
once its children are done.

Hooks meant to be overridden (`startService`, `reconfigService`, `activate`...)
may be written as `async def`, with `@defer.inlineCallbacks`, or as plain
functions; callers here accept any of these.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from twisted.application import service
from twisted.internet import defer, task
from twisted.python import failure, log, reflect

from buildbot import config

_T = TypeVar("_T")


def _returns_deferred(
    fn: Callable[..., Coroutine[Any, Any, _T]],
) -> Callable[..., defer.Deferred[_T]]:
    """Make an `async def` method return a Deferred, running synchronously up to its
    first real wait (so e.g. `running` is set before `startService` returns)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> defer.Deferred[_T]:
        return defer.ensureDeferred(fn(*args, **kwargs))

    return wrapper


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
    # maybeDeferred turns plain values, exceptions and coroutines alike into Deferreds
    return defer.maybeDeferred(fn, *args, **kwargs)


class _Waiter:
    """The outcome of one operation, which any number of parties may wait for.

    Unlike handing out one Deferred, each `wait()` gets its own Deferred, so one
    waiter consuming a failure does not hide it from the others.
    """

    def __init__(self) -> None:
        self.done = False
        self._result: Any = None
        self._waiting: list[defer.Deferred[Any]] = []

    def fire(self, result: Any) -> Any:
        self.done = True
        self._result = result
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            self._deliver(d)
        return result

    def wait(self) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        if self.done:
            self._deliver(d)
        else:
            self._waiting.append(d)
        return d

    def _deliver(self, d: defer.Deferred[Any]) -> None:
        if isinstance(self._result, failure.Failure):
            d.errback(self._result)
        else:
            d.callback(self._result)


async def _settle(ds: Iterable[defer.Deferred[Any]]) -> list[failure.Failure]:
    """Wait for every Deferred; return the failures, in order, all of them consumed."""
    results = await defer.DeferredList(list(ds), consumeErrors=True)
    return [r for ok, r in results if not ok]


def _raise_first(failures: list[failure.Failure], why: str) -> None:
    """Raise the first failure; log the others so that none goes unreported."""
    if not failures:
        return
    for f in failures[1:]:
        log.err(f, why)
    failures[0].raiseException()


def _is_member(child: Any, services: list[Any]) -> bool:
    # by identity: a child class may define __eq__
    return any(s is child for s in services)


class AsyncService(service.Service):
    """A Twisted service whose parent-changing methods return Deferreds.

    `master` and `reactor` are found by walking up the parent chain; setting
    either explicitly on a service makes it win for that service and its
    descendants.
    """

    _master: Any = None
    _reactor: Any = None

    @property
    def master(self) -> Any:
        if self._master is not None:
            return self._master
        parent = self.parent
        while parent is not None:
            found = getattr(parent, "master", None)
            if found is not None:
                return found
            if isinstance(parent, AsyncService):
                return None  # its property already walked the rest of the chain
            parent = getattr(parent, "parent", None)
        return None

    @master.setter
    def master(self, value: Any) -> None:
        self._master = value

    @property
    def reactor(self) -> Any:
        """The explicitly set reactor, else the master's, else None (never the global
        reactor implicitly: a test with a fake clock must not fall back to real time)."""
        if self._reactor is not None:
            return self._reactor
        master = self.master
        if master is not None and master is not self:
            return getattr(master, "reactor", None)
        return None

    @reactor.setter
    def reactor(self, value: Any) -> None:
        self._reactor = value

    def startService(self) -> defer.Deferred[None]:
        service.Service.startService(self)
        return defer.succeed(None)

    def stopService(self) -> defer.Deferred[None]:
        service.Service.stopService(self)
        return defer.succeed(None)

    def setServiceParent(self, parent: Any) -> defer.Deferred[Any]:
        """Attach to `parent`; fires when the parent has started us (if it is running).

        A name collision raises RuntimeError synchronously and leaves us unattached.
        """
        if self.parent is not None:
            self.disownServiceParent()
        parent = service.IServiceCollection(parent, parent)
        self.parent = parent
        try:
            result = parent.addService(self)
        except BaseException:
            self.parent = None
            raise
        return defer.maybeDeferred(lambda: result)

    def disownServiceParent(self) -> defer.Deferred[Any]:
        """Detach from the parent; fires when the parent has stopped us.

        `parent` is cleared only then, so that `master` still resolves while we stop.
        """
        parent = self.parent
        if parent is None:
            return defer.succeed(None)
        d = defer.maybeDeferred(parent.removeService, self)

        def clear(result: Any) -> Any:
            if self.parent is parent:
                self.parent = None
            return result

        d.addBoth(clear)
        return d


class AsyncMultiService(AsyncService, service.MultiService):
    """A service collection that starts and stops its children asynchronously.

    Start: all children are started at once, in child order; the Deferred fails
    if any of them failed (the first failure is passed on, the others logged).
    Stop: children are stopped one after the other in reverse child order, each
    awaited before the next, so a child can rely on the ones added before it (a
    database, a shared connection...) until it has stopped. Every child is tried;
    failures are passed on at the end.
    """

    def __init__(self) -> None:
        service.MultiService.__init__(self)
        # (child, outcome) of child starts and stops (by removeService) in flight
        self._child_starts: list[tuple[Any, _Waiter]] = []
        self._child_stops: list[tuple[Any, _Waiter]] = []
        self._own_start: _Waiter | None = None

    @staticmethod
    def _track(child: Any, d: defer.Deferred[Any], inflight: list[tuple[Any, _Waiter]]) -> None:
        entry = (child, _Waiter())
        inflight.append(entry)

        def done(result: Any) -> Any:
            # by identity: list.remove would call a child's __eq__
            inflight[:] = [e for e in inflight if e is not entry]
            return entry[1].fire(result)

        d.addBoth(done)

    @staticmethod
    async def _wait_all(inflight: list[tuple[Any, _Waiter]], child: Any = None) -> None:
        """Wait until nothing (about `child`, if given) is in flight; errors ignored:
        they were reported to whoever started the operation."""
        while True:
            waiters = [w for c, w in inflight if child is None or c is child]
            if not waiters:
                return
            await _settle([w.wait() for w in waiters])

    def _start_child(self, child: Any) -> defer.Deferred[Any]:
        d = _call(child.startService)
        self._track(child, d, self._child_starts)
        return d

    @_returns_deferred
    async def startService(self) -> None:
        service.Service.startService(self)
        own = _Waiter()
        self._own_start = own
        try:
            # A snapshot: a child added while we start (by another child, say) is
            # started by addService, because `running` is already set, and must not
            # be started a second time here.
            snapshot = list(self.services)
            started = []
            for child in snapshot:
                # an earlier child may have removed this one while starting
                if _is_member(child, self.services):
                    started.append(self._start_child(child))
            failures = await _settle(started)
            # Children added while we were starting: we wait for them too, so that
            # our Deferred means "everything under me is up". Their failures belong
            # to whoever called addService and are not reported again here.
            await self._wait_all(self._child_starts)
            _raise_first(failures, f"while starting children of {self!r}")
        finally:
            self._own_start = None
            own.fire(None)

    @_returns_deferred
    async def stopService(self) -> None:
        service.Service.stopService(self)
        # Let starts in flight finish first: stopping a half-started child is racy.
        # Their errors were reported to those who started them.
        if self._own_start is not None:
            await self._own_start.wait()
        await self._wait_all(self._child_starts)
        failures = []
        for child in reversed(list(self.services)):
            # a child removed meanwhile was stopped by removeService; one that was
            # never started needs no stop
            if not _is_member(child, self.services) or not child.running:
                continue
            failures.extend(await _settle([_call(child.stopService)]))
        await self._wait_all(self._child_stops)
        _raise_first(failures, f"while stopping children of {self!r}")

    def addService(self, child: Any) -> defer.Deferred[Any]:  # type: ignore[override]
        """Register `child`; if we are running (or starting), start it.

        Fires when the child has started. A duplicate name raises RuntimeError.
        """
        if child.name is not None:
            if child.name in self.namedServices:
                raise RuntimeError(f"cannot have two services with same name {child.name!r}")
            self.namedServices[child.name] = child
        self.services.append(child)
        if not self.running:
            return defer.succeed(None)
        try:
            child.privilegedStartService()
        except Exception:
            return defer.fail()
        return self._start_child(child)

    def removeService(self, child: Any) -> defer.Deferred[Any]:  # type: ignore[override]
        """Stop `child` if it runs, then unregister it; fires when both are done.

        A child still starting is let finish starting first. The child stays
        registered while it stops, so that it can still reach the master through
        us. An unknown child raises ValueError.
        """
        if not _is_member(child, self.services):
            raise ValueError(f"{child!r} is not a child of {self!r}")
        d = defer.ensureDeferred(self._remove(child))
        self._track(child, d, self._child_stops)
        return d

    async def _remove(self, child: Any) -> None:
        try:
            await self._wait_all(self._child_starts, child)
            if child.running:
                await _call(child.stopService)
        finally:
            if child.name is not None and self.namedServices.get(child.name) is child:
                del self.namedServices[child.name]
            self.services[:] = [s for s in self.services if s is not child]


class MasterService(AsyncMultiService):
    """The root of a service tree: it is its own `master` and carries the reactor."""

    def __init__(self, reactor: Any = None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as global_reactor

            reactor = global_reactor
        self.master = self
        self.reactor = reactor


class ReconfigurableServiceMixin:
    """A service that follows configuration changes.

    Children are reconfigured by descending `reconfig_priority` (ties keep child
    order), one after the other.
    """

    reconfig_priority = 128

    @_returns_deferred
    async def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> None:
        children = [
            s
            for s in list(getattr(self, "services", ()))
            if isinstance(s, ReconfigurableServiceMixin)
        ]
        children.sort(key=lambda s: -s.reconfig_priority)
        for child in children:
            await _call(child.reconfigServiceWithBuildbotConfig, new_config)


def _same_config(a: tuple, b: tuple) -> bool:
    """Do two (class, name, args, kwargs) tuples describe the same configuration?

    Plain values (str, int, list, dict...) and objects defining `__eq__` compare by
    value; other objects by identity, so re-reading an unchanged config file that
    builds a fresh such object counts as a change: the safe answer, it only costs a
    reconfigService call. A comparison that fails also counts as a change.
    """
    try:
        return bool(a == b)
    except Exception:
        return False


class BuildbotService(AsyncMultiService, ReconfigurableServiceMixin):
    """A service configured from master.cfg.

    Constructor arguments are checked at once by `checkConfig` (which reports
    problems with `config.error`) and applied by `reconfigService`, when the
    service starts and each time a reconfiguration brings different arguments.
    Without a `name` argument or class attribute, the class name is the name.
    """

    name: str | None = None  # type: ignore[assignment]

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        if name is not None:
            self.name = name
        elif self.name is None:
            self.name = type(self).__name__
        if not isinstance(self.name, str):
            config.error(f"{type(self).__name__}: name must be a string, not {self.name!r}")
        self._config_args = args
        self._config_kwargs = kwargs
        self.configured = False
        self.checkConfig(*args, **kwargs)

    def checkConfig(self, *args: Any, **kwargs: Any) -> None:
        """Validate constructor arguments; report problems with `config.error`."""

    @_returns_deferred
    async def reconfigService(self, *args: Any, **kwargs: Any) -> None:
        """Apply constructor arguments (at start, and when they change)."""

    def getConfigDict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": reflect.qual(type(self)),
            "args": self._config_args,
            "kwargs": self._config_kwargs,
        }

    def _config_key(self) -> tuple:
        return (type(self), self.name, self._config_args, self._config_kwargs)

    def canReconfigWithSibling(self, sibling: Any) -> bool:
        """Can we take `sibling`'s configuration in place (rather than be replaced)?"""
        return type(self) is type(sibling)

    @_returns_deferred
    async def reconfigServiceWithSibling(self, sibling: BuildbotService) -> None:
        """Take the configuration of `sibling`, a fresh instance built from the new
        config; `reconfigService` is called only if it differs from ours."""
        if self.configured and _same_config(self._config_key(), sibling._config_key()):
            return
        # cleared until reconfigService succeeds: after a failure, the same config
        # given again must be retried rather than taken as already applied
        self.configured = False
        self._config_args = sibling._config_args
        self._config_kwargs = sibling._config_kwargs
        await _call(self.reconfigService, *self._config_args, **self._config_kwargs)
        self.configured = True

    def configureService(self) -> defer.Deferred[None]:
        """Apply our own constructor arguments, unless already done."""
        if self.configured:
            return defer.succeed(None)
        return self.reconfigServiceWithSibling(self)

    @_returns_deferred
    async def startService(self) -> None:
        # configured before children start: reconfigService usually creates them
        await self.configureService()
        await AsyncMultiService.startService(self)


class BuildbotServiceManager(AsyncMultiService, ReconfigurableServiceMixin):
    """Keeps its children in line with one attribute of the master config.

    `getattr(new_config, config_attr)` is a dict name -> BuildbotService or a list
    of them. On reconfig, children whose name disappeared are removed, new names
    are added (and started if we run), a name whose class changed is replaced, and
    every other named child gets `reconfigServiceWithSibling` with its new
    counterpart (a no-op when the arguments are the same, so the old instance
    stays). Unnamed children, which the config cannot mention, get
    `reconfigServiceWithBuildbotConfig` if they are reconfigurable. Errors abort the
    reconfig at the first failing step.
    """

    config_attr = "services"
    name: str | None = "services"  # type: ignore[assignment]

    def getConfigDict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "childs": [s.getConfigDict() for s in self.namedServices.values()],
        }

    def _services_from_config(self, new_config: Any) -> dict[str, Any]:
        value = getattr(new_config, self.config_attr)
        if isinstance(value, dict):
            return dict(value)
        by_name: dict[str, Any] = {}
        for svc in value:
            if svc.name in by_name:
                raise ValueError(f"{self.config_attr}: duplicate service name {svc.name!r}")
            by_name[svc.name] = svc
        return by_name

    @_returns_deferred
    async def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> None:
        new_by_name = self._services_from_config(new_config)
        old_by_name = dict(self.namedServices)

        replaced = set()
        to_reconfig = []
        for n, old in old_by_name.items():
            new = new_by_name.get(n)
            if new is None or new is old:
                continue
            can = getattr(old, "canReconfigWithSibling", None)
            if can is not None and can(new):
                to_reconfig.append((old, new))
            else:
                replaced.add(n)
        # removals in reverse child order, like a stop; additions in config order
        to_remove = [
            s
            for s in reversed(self.services)
            if s.name in old_by_name and (s.name not in new_by_name or s.name in replaced)
        ]
        to_add = [s for n, s in new_by_name.items() if n not in old_by_name or n in replaced]
        if to_remove or to_add:
            log.msg(
                f"{self.name}: removing {[s.name for s in to_remove]}, "
                f"adding {[s.name for s in to_add]}"
            )

        for svc in to_remove:
            await svc.disownServiceParent()
        for svc in to_add:
            await svc.setServiceParent(self)
        to_reconfig.sort(key=lambda pair: -pair[0].reconfig_priority)
        for old, new in to_reconfig:
            try:
                await old.reconfigServiceWithSibling(new)
            except Exception:
                log.err(None, f"{self.name}: while reconfiguring {old.name!r}")
                raise
        unnamed = [
            s
            for s in list(self.services)
            if s.name is None and isinstance(s, ReconfigurableServiceMixin)
        ]
        unnamed.sort(key=lambda s: -s.reconfig_priority)
        for svc in unnamed:
            await _call(svc.reconfigServiceWithBuildbotConfig, new_config)


class SharedService(AsyncMultiService):
    """A service of which one instance per set of arguments lives under a parent.

    Users call `getService(parent, *args, **kwargs)` rather than the constructor.
    The shared instance is put first among the parent's children, so that it is
    stopped after the services that use it.
    """

    @classmethod
    def getName(cls, *args: Any, **kwargs: Any) -> str:
        """A name for this class and arguments: equal arguments give the same name.

        Arguments are identified by their repr, so values need not be hashable;
        objects with the default repr are identified by identity, and dicts by
        their order.
        """
        digest = hashlib.sha1()
        digest.update(repr(args).encode("utf-8", "backslashreplace"))
        digest.update(repr(sorted(kwargs.items(), key=lambda kv: kv[0])).encode())
        return f"{cls.__name__}_{digest.hexdigest()}"

    @classmethod
    def getService(cls, parent: Any, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """The instance for these arguments under `parent`, created if needed; fires
        once it has started (if the parent runs). If it fails to start, it is
        removed from the parent and every caller gets the failure."""
        name = cls.getName(*args, **kwargs)
        existing = parent.namedServices.get(name)
        if existing is not None:
            ready: _Waiter | None = getattr(existing, "_shared_ready", None)
            if ready is None:
                return defer.succeed(existing)
            return ready.wait().addCallback(lambda _: existing)

        instance = cls(*args, **kwargs)
        instance.name = name
        ready = instance._shared_ready = _Waiter()
        # Registered synchronously by setServiceParent, so concurrent callers find it.
        d = instance.setServiceParent(parent)
        parent.services[:] = [instance] + [s for s in parent.services if s is not instance]

        async def finish(result: Any) -> None:
            if isinstance(result, failure.Failure):
                # forget it, so that the next caller tries afresh
                try:
                    await instance.disownServiceParent()
                except Exception:
                    log.err(None, f"while removing shared service {name!r}")
            # the outcome, failure included, reaches every caller through `ready`
            ready.fire(result)

        d.addBoth(lambda r: defer.ensureDeferred(finish(r)))
        return ready.wait().addCallback(lambda _: instance)


class ClusteredBuildbotService(BuildbotService):
    """A service that runs on only one master of a cluster at a time.

    Every master starts the service, but only the one that wins the claim
    (`_claimService`) calls `activate()`; the others try again every
    `POLL_INTERVAL_SEC`, on the master's reactor. Stopping calls `deactivate()` and
    gives the claim back. Failures of the claim or of `activate` are logged and
    retried at the next poll; a failed activation gives its claim back first.

    `startService` does not wait for the first claim attempt or the activation:
    activation may take a while and the master need not wait for it.

    Subclasses implement `activate`/`deactivate` (default: nothing to do). The
    claim is kept in the database: a subclass names its kind in `clustered_kind`
    (``"Scheduler"``, ``"ChangeSource"``) and the claim hooks go through the data
    API's updates ``find<Kind>Id(name)`` and ``trySet<Kind>Master(id, masterid)``,
    which insert a row in the kind's ``*_masters`` table, unique per service, so
    exactly one master wins. A master that stops gives its claims back; claims of a
    master that died are released when the others find it inactive. Other claim
    mechanisms override `_getServiceId`, `_claimService`, `_unclaimService`.
    """

    POLL_INTERVAL_SEC = 5 * 60

    #: the kind of service, naming the data API updates that keep the claim
    clustered_kind: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.serviceid: Any = None
        self.active = False
        self._activityPollCall: task.LoopingCall | None = None
        self._poll_in_flight: _Waiter | None = None
        self._polling_stopped = True
        super().__init__(*args, **kwargs)

    def isActive(self) -> bool:
        return self.active

    def activate(self) -> defer.Deferred[None]:
        """Start the real work; called once this master owns the service."""
        return defer.succeed(None)

    def deactivate(self) -> defer.Deferred[None]:
        """Stop the real work; called before the claim is given back."""
        return defer.succeed(None)

    def _claim_update(self, pattern: str) -> Callable[..., Any]:
        if self.clustered_kind is None:
            raise NotImplementedError(
                f"{type(self).__name__}: set clustered_kind or override the claim hooks"
            )
        return getattr(self.master.data.updates, pattern.format(kind=self.clustered_kind))

    def _getServiceId(self) -> defer.Deferred[Any]:
        """The id of this service's row, registering it if new."""
        return _call(lambda: self._claim_update("find{kind}Id")(self.name))

    def _claimService(self) -> defer.Deferred[bool]:
        """Try to become the owner of the service; fires with whether we are."""
        return _call(
            lambda: self._claim_update("trySet{kind}Master")(self.serviceid, self.master.masterid)
        )

    def _unclaimService(self) -> defer.Deferred[None]:
        return _call(lambda: self._claim_update("trySet{kind}Master")(self.serviceid, None))

    @_returns_deferred
    async def startService(self) -> None:
        await BuildbotService.startService(self)
        self._startActivityPolling()

    @_returns_deferred
    async def stopService(self) -> None:
        self._stopActivityPolling()
        if self._poll_in_flight is not None:
            # it sees that polling stopped and will not activate
            await self._poll_in_flight.wait()
        if self.active:
            # isActive() is already False while deactivating, so that no new work
            # is taken on during teardown
            self.active = False
            try:
                await _call(self.deactivate)
            except Exception:
                log.err(None, f"while deactivating {self.name!r}")
            await self._unclaim_logged()
        await BuildbotService.stopService(self)

    def _startActivityPolling(self) -> None:
        clock = self.reactor
        if clock is None:
            raise RuntimeError(f"{self.name!r}: no reactor; is the service under a master?")
        self._polling_stopped = False
        loop = task.LoopingCall(self._activityPoll)
        loop.clock = clock
        self._activityPollCall = loop
        d = loop.start(self.POLL_INTERVAL_SEC, now=True)
        d.addErrback(log.err, f"activity polling of {self.name!r} broke")

    def _stopActivityPolling(self) -> None:
        self._polling_stopped = True
        loop, self._activityPollCall = self._activityPollCall, None
        if loop is not None and loop.running:
            loop.stop()

    def _activityPoll(self) -> defer.Deferred[None]:
        """One claim attempt (and activation if won). Never fails. A call while an
        attempt is in flight joins that attempt rather than claiming again."""
        if self._poll_in_flight is not None:
            return self._poll_in_flight.wait()
        waiter = self._poll_in_flight = _Waiter()

        def done(result: Any) -> Any:
            self._poll_in_flight = None
            return waiter.fire(result)

        return defer.ensureDeferred(self._poll_once()).addBoth(done)

    async def _poll_once(self) -> None:
        if self.active or self._polling_stopped:
            return
        try:
            if self.serviceid is None:
                self.serviceid = await _call(self._getServiceId)
            claimed = await _call(self._claimService)
        except Exception:
            log.err(None, f"while claiming {self.name!r}; will retry")
            return
        if not claimed:
            return
        if self._polling_stopped:
            # stopService began while the claim was in flight
            await self._unclaim_logged()
            return
        try:
            await _call(self.activate)
        except Exception:
            log.err(None, f"while activating {self.name!r}; will retry")
            await self._unclaim_logged()
            return
        self.active = True
        self._stopActivityPolling()

    async def _unclaim_logged(self) -> None:
        try:
            await _call(self._unclaimService)
        except Exception:
            log.err(None, f"while unclaiming {self.name!r}")
