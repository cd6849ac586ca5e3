"""The locks builds and steps hold at run time.

`buildbot.locks` holds what master.cfg declares (lock ids and accesses); this module
holds the real locks: one per lock name per master (per worker, for a `WorkerLock`),
kept in a `LockRegistry`, and `acquire_locks` / `release_locks` to take a whole set of
locks at once.

Fairness and deadlock freedom come from one rule: a waiting owner keeps a place in the
queue of *every* lock of its set, all places taken at the same moment, and a place
reserves its access against everyone queued behind it. The oldest waiting set is
then ahead in each of its queues, so only holders can block it; holders never wait
(a set is claimed whole or not at all), so the oldest set always gets its locks.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.python import failure

from buildbot.locks import BaseLockId, LockAccess, WorkerLock

LockSet = Sequence[tuple["RealLock", LockAccess]]


class _Wakeups:
    """Fires wake-up Deferreds one after the other instead of inside each other.

    A woken owner may run on synchronously and release locks, which wakes other
    owners: firing those from a flat loop keeps the stack shallow however long the
    chain, and lets `release_locks` release a whole set before anyone looks.
    """

    def __init__(self) -> None:
        self._pending: deque[defer.Deferred[None]] = deque()
        self._depth = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0:
            self._drain()

    def fire(self, d: defer.Deferred[None]) -> None:
        self._pending.append(d)
        if self._depth == 0:
            self._drain()

    def _drain(self) -> None:
        self._depth += 1
        try:
            while self._pending:
                self._pending.popleft().callback(None)
        finally:
            self._depth -= 1


_wakeups = _Wakeups()


@dataclass
class _Waiter:
    owner: Any
    access: LockAccess
    d: defer.Deferred[None] | None = None  # armed while the owner waits on this lock


class RealLock:
    """One lock at run time: its holders and a FIFO queue of waiters.

    A counting access takes `access.count` of `maxCount` (at most all of it); an
    exclusive access takes the whole lock. A queued waiter reserves its access against
    the waiters behind it, so a stream of counting owners cannot starve an exclusive one.
    """

    def __init__(self, name: str, maxCount: int = 1, description: str | None = None) -> None:
        self.name = name
        self.maxCount = maxCount
        self.description = description or name
        self._holders: list[tuple[Any, LockAccess]] = []
        self._queue: list[_Waiter] = []

    def __repr__(self) -> str:
        return f"<RealLock {self.description!r} maxCount={self.maxCount}>"

    def getLockForWorker(self, workername: str) -> RealLock:
        return self

    def setMaxCount(self, count: int) -> None:
        """Change the size in place (reconfig); holders keep what they hold."""
        if count != self.maxCount:
            self.maxCount = count
            self._wake()

    # --- queries ---

    def isOwner(self, owner: Any, access: LockAccess) -> bool:
        return any(o is owner and a == access for o, a in self._holders)

    def isAvailable(self, owner: Any, access: LockAccess) -> bool:
        """Whether `owner` may claim now: it fits beside the holders and the waiters
        queued ahead of it (all waiters, if it has no place in the queue)."""
        exclusive, used = self._usage(self._holders)
        for w in self._queue:
            if w.owner is owner:
                break
            if w.access.mode == "exclusive":
                return False
            used += self._weight(w.access)
        return self._fits(access, exclusive, used)

    def holders(self) -> list[tuple[Any, LockAccess]]:
        return list(self._holders)

    def waiters(self) -> list[Any]:
        return [w.owner for w in self._queue]

    # --- changes ---

    def claim(self, owner: Any, access: LockAccess) -> None:
        if not self.isAvailable(owner, access):
            raise RuntimeError(f"{self!r} is not available to {owner!r}")
        self._queue = [w for w in self._queue if w.owner is not owner]
        self._holders.append((owner, access))

    def release(self, owner: Any, access: LockAccess) -> None:
        for i, (o, a) in enumerate(self._holders):
            if o is owner and a == access:
                del self._holders[i]
                break
        else:
            raise RuntimeError(f"{owner!r} does not hold {self!r} with {access!r}")
        self._wake()

    def enqueue(self, owner: Any, access: LockAccess) -> None:
        """Take a place at the end of the queue (if `owner` has none) without waiting."""
        if not any(w.owner is owner for w in self._queue):
            self._queue.append(_Waiter(owner, access))

    def waitUntilMaybeAvailable(self, owner: Any, access: LockAccess) -> defer.Deferred[None]:
        """A Deferred that fires once the lock may be available to `owner`; the owner
        keeps its place in the queue until it claims or stops waiting."""
        if self.isAvailable(owner, access):
            return defer.succeed(None)
        self.enqueue(owner, access)
        waiter = self._waiter(owner)
        if waiter.d is not None:
            raise RuntimeError(f"{owner!r} is already waiting for {self!r}")
        waiter.d = defer.Deferred()
        return waiter.d

    def stopWaitingUntilAvailable(
        self, owner: Any, access: LockAccess, d: defer.Deferred[None] | None = None
    ) -> None:
        """Give up `owner`'s place in the queue; `d` (if it was waiting) never fires."""
        before = len(self._queue)
        self._queue = [w for w in self._queue if w.owner is not owner]
        if len(self._queue) != before:
            self._wake()

    # --- internals ---

    def _waiter(self, owner: Any) -> _Waiter:
        return next(w for w in self._queue if w.owner is owner)

    def _weight(self, access: LockAccess) -> int:
        return min(access.count, self.maxCount)

    def _usage(self, accesses: list[tuple[Any, LockAccess]]) -> tuple[bool, int]:
        exclusive = any(a.mode == "exclusive" for _, a in accesses)
        used = sum(self._weight(a) for _, a in accesses if a.mode != "exclusive")
        return exclusive, used

    def _fits(self, access: LockAccess, exclusive: bool, used: int) -> bool:
        if exclusive:
            return False
        if access.mode == "exclusive":
            return used == 0
        return used + self._weight(access) <= self.maxCount

    def _wake(self) -> None:
        """Wake the armed waiters the lock may now be available to (one pass: the
        reservations of the waiters ahead accumulate as the queue is walked)."""
        exclusive, used = self._usage(self._holders)
        ready = []
        for w in self._queue:
            if exclusive:
                break
            if w.d is not None and self._fits(w.access, exclusive, used):
                ready.append(w)
            if w.access.mode == "exclusive":
                exclusive = True
            else:
                used += self._weight(w.access)
        with _wakeups.batch():
            for w in ready:
                d, w.d = w.d, None
                assert d is not None
                _wakeups.fire(d)


class RealMasterLock(RealLock):
    """The run-time twin of a `MasterLock`: one for the whole master."""


class RealWorkerLock:
    """The run-time twin of a `WorkerLock`: one `RealLock` per worker name."""

    def __init__(self, name: str, maxCount: int = 1, maxCountForWorker: Any = None) -> None:
        self.name = name
        self.maxCount = maxCount
        self.maxCountForWorker: dict[str, int] = dict(maxCountForWorker or {})
        self._locks: dict[str, RealLock] = {}

    def __repr__(self) -> str:
        return f"<RealWorkerLock {self.name!r}>"

    def _count_for(self, workername: str) -> int:
        return self.maxCountForWorker.get(workername, self.maxCount)

    def getLockForWorker(self, workername: str) -> RealLock:
        if workername not in self._locks:
            self._locks[workername] = RealLock(
                self.name, self._count_for(workername), f"{self.name} on {workername}"
            )
        return self._locks[workername]

    def setMaxCount(self, maxCount: int, maxCountForWorker: Any = None) -> None:
        self.maxCount = maxCount
        self.maxCountForWorker = dict(maxCountForWorker or {})
        for workername, lock in self._locks.items():
            lock.setMaxCount(self._count_for(workername))


class LockRegistry:
    """The real locks of one master, by kind and name (owned by the botmaster).

    A lock id seen with a newer `config_version` than before updates the real lock
    in place, so a reconfig that changes `maxCount` keeps holders and waiters.
    """

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[RealLock | RealWorkerLock, int]] = {}

    def getLockByID(self, lockid: BaseLockId, config_version: int) -> RealLock | RealWorkerLock:
        is_worker = isinstance(lockid, WorkerLock)
        key = ("worker" if is_worker else "master", lockid.name)
        known = self._locks.get(key)
        if known is None:
            real: RealLock | RealWorkerLock
            if isinstance(lockid, WorkerLock):
                real = RealWorkerLock(lockid.name, lockid.maxCount, lockid.maxCountForWorker)
            else:
                real = RealMasterLock(lockid.name, lockid.maxCount)
            self._locks[key] = (real, config_version)
            return real
        real, version = known
        if config_version > version:
            if isinstance(real, RealWorkerLock):
                assert isinstance(lockid, WorkerLock)
                real.setMaxCount(lockid.maxCount, lockid.maxCountForWorker)
            else:
                real.setMaxCount(lockid.maxCount)
            self._locks[key] = (real, config_version)
        return real

    def getLockFromLockAccess(
        self, access: LockAccess, config_version: int
    ) -> RealLock | RealWorkerLock:
        return self.getLockByID(access.lockid, config_version)

    def resolve(self, locks: Sequence[Any], workername: str, config_version: int) -> LockSet:
        """The (real lock, access) pairs for a list of accesses (a bare lock id
        stands for its default access), as held on worker `workername`."""
        pairs = []
        for item in locks:
            access = item.defaultAccess() if isinstance(item, BaseLockId) else item
            real = self.getLockFromLockAccess(access, config_version)
            pairs.append((real.getLockForWorker(workername), access))
        return pairs


class _SetAcquisition:
    """The loop behind `acquire_locks`: check every lock; claim all if all are
    available, else wait on the first that is not and check again."""

    def __init__(
        self,
        owner: Any,
        locks: LockSet,
        on_wait: Callable[[RealLock, LockAccess], Any] | None,
    ) -> None:
        self.owner = owner
        self.locks = list(locks)
        self.on_wait = on_wait
        self.queued = False
        self.result: defer.Deferred[None] = defer.Deferred(canceller=self._cancel)

    def attempt(self, _: Any = None) -> None:
        if self.result.called:
            return
        try:
            blocked = next(
                ((lock, a) for lock, a in self.locks if not lock.isAvailable(self.owner, a)),
                None,
            )
            if blocked is None:
                for lock, access in self.locks:
                    lock.claim(self.owner, access)
                self.result.callback(None)
                return
            if not self.queued:
                # all places at once, so that every queue sees waiting sets in one order
                for lock, access in self.locks:
                    lock.enqueue(self.owner, access)
                self.queued = True
            lock, access = blocked
            d = lock.waitUntilMaybeAvailable(self.owner, access)
            if self.on_wait is not None:
                self.on_wait(lock, access)
        except Exception:
            self._leave_queues()
            self.result.errback(failure.Failure())
            return
        d.addCallback(self.attempt)

    def _leave_queues(self) -> None:
        if self.queued:
            self.queued = False
            with _wakeups.batch():
                for lock, access in self.locks:
                    lock.stopWaitingUntilAvailable(self.owner, access)

    def _cancel(self, _: defer.Deferred[None]) -> None:
        self._leave_queues()


def acquire_locks(
    owner: Any,
    locks: LockSet,
    on_wait: Callable[[RealLock, LockAccess], Any] | None = None,
) -> defer.Deferred[None]:
    """Claim every (real lock, access) of `locks` for `owner`, all at once.

    The Deferred fires once all are held; until then nothing is held. `on_wait(lock,
    access)` is called each time the owner starts waiting on a lock (for a state
    string such as "waiting for lock <name>"). Cancelling the Deferred gives up the
    owner's places in the queues.
    """
    seen: set[int] = set()
    for lock, _ in locks:
        if id(lock) in seen:
            raise ValueError(f"{lock!r} appears twice in one lock set")
        seen.add(id(lock))
    acquisition = _SetAcquisition(owner, locks, on_wait)
    acquisition.attempt()
    return acquisition.result


def release_locks(owner: Any, locks: LockSet) -> None:
    """Release the locks of `locks` that `owner` holds; waiters are woken only once
    the whole set is released."""
    with _wakeups.batch():
        for lock, access in locks:
            if lock.isOwner(owner, access):
                lock.release(owner, access)
