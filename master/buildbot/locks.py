"""Locks as master.cfg declares them: lock ids and the ways builds use them.

These are descriptions only; the locks held at run time are built from them by
the build engine.
"""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.util import ComparableMixin

ACCESS_MODES = ("counting", "exclusive")


def _check_count(owner: str, name: str, value: Any) -> bool:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        config.error(f"{owner}: {name} must be a positive integer, not {value!r}")
        return False
    return True


class BaseLockId(ComparableMixin):
    """A lock, identified by its class and name."""

    compare_attrs: tuple[str, ...] = ("name", "maxCount")

    def __init__(self, name: str, maxCount: int = 1) -> None:
        self.name = name
        self.maxCount = maxCount
        if not isinstance(name, str) or not name:
            config.error(f"{type(self).__name__}: name must be a non-empty string, not {name!r}")
        _check_count(self._describe(), "maxCount", maxCount)

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def largestCount(self) -> int:
        """The largest count any holder may be granted."""
        return self.maxCount if isinstance(self.maxCount, int) else 1

    def access(self, mode: str, count: int = 1) -> LockAccess:
        """How a build or step uses this lock."""
        return LockAccess(self, mode, count)

    def defaultAccess(self) -> LockAccess:
        return LockAccess(self, "exclusive")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({self.name!r}, {self.maxCount!r})>"


class MasterLock(BaseLockId):
    """A lock shared by all builds of this master."""


class WorkerLock(BaseLockId):
    """A lock with one instance per worker; `maxCountForWorker` overrides the count
    for the named workers."""

    compare_attrs = ("name", "maxCount", "_maxCountForWorkerList")

    def __init__(
        self,
        name: str,
        maxCount: int = 1,
        maxCountForWorker: dict[str, int] | None = None,
    ) -> None:
        super().__init__(name, maxCount)
        if maxCountForWorker is None:
            maxCountForWorker = {}
        self.maxCountForWorker = maxCountForWorker
        if not isinstance(maxCountForWorker, dict):
            config.error(f"{self._describe()}: maxCountForWorker must be a dict")
            self._maxCountForWorkerList: tuple = ()
            return
        for worker, count in maxCountForWorker.items():
            _check_count(self._describe(), f"maxCountForWorker[{worker!r}]", count)
        self._maxCountForWorkerList = tuple(sorted(maxCountForWorker.items()))

    def largestCount(self) -> int:
        counts = [c for _, c in self._maxCountForWorkerList if isinstance(c, int)]
        return max([super().largestCount(), *counts])


@implementer(interfaces.ILockAccess)
class LockAccess(ComparableMixin):
    """A lock taken in `mode` ('counting' or 'exclusive'), `count` times."""

    compare_attrs = ("lockid", "mode", "count")

    def __init__(self, lockid: BaseLockId, mode: str, count: int = 1) -> None:
        self.lockid = lockid
        self.mode = mode
        self.count = count
        if not isinstance(lockid, BaseLockId):
            config.error(f"lock access needs a MasterLock or WorkerLock, not {lockid!r}")
            return
        where = lockid._describe()
        if mode not in ACCESS_MODES:
            config.error(f"{where}: access mode must be 'counting' or 'exclusive', not {mode!r}")
        if not _check_count(where, "access count", count):
            return
        if mode == "exclusive" and count != 1:
            config.error(f"{where}: an exclusive access has a count of 1, not {count}")
        elif mode == "counting" and count > lockid.largestCount():
            config.error(
                f"{where}: access count {count} is larger than the lock's maxCount "
                f"{lockid.largestCount()}"
            )

    def __repr__(self) -> str:
        return f"<LockAccess({self.lockid!r}, {self.mode!r}, {self.count!r})>"
