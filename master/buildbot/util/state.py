"""StateMixin: small JSON values a service keeps in the DB across restarts.

The object is identified by its `name` and its class name (the `objects` table),
as Buildbot does, so state written by a Buildbot master is found again.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer


class StateMixin:
    """Needs `self.name` and `self.master` (with `db.state`)."""

    name: str
    master: Any
    _objectid: int | None = None

    async def _object_id(self) -> int:
        if self._objectid is None:
            objectid = await self.master.db.state.getObjectId(self.name, type(self).__name__)
            self._objectid = objectid
        return self._objectid

    def getState(self, *args: Any) -> defer.Deferred[Any]:
        """`getState(key)` or `getState(key, default)`; KeyError without a default."""
        return defer.ensureDeferred(self._get_state(*args))

    async def _get_state(self, *args: Any) -> Any:
        objectid = await self._object_id()
        return await self.master.db.state.getState(objectid, *args)

    def setState(self, key: str, value: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._set_state(key, value))

    async def _set_state(self, key: str, value: Any) -> None:
        objectid = await self._object_id()
        await self.master.db.state.setState(objectid, key, value)
