"""The `objects` and `object_state` tables: small JSON values kept per object.

Schedulers, pollers and other services identify themselves by (name, class
name) and keep named values, such as the last change they processed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base

# marks "no default given" to getState
_NO_DEFAULT = object()


class StateConnectorComponent(base.DBConnectorComponent):
    def getObjectId(self, name: str, class_name: str) -> defer.Deferred[int]:
        """The id of the object (name, class_name), registering it if new."""
        tbl = self.db.model.objects
        name = self.ensureLength(tbl.c.name, name)
        try:
            self.checkLength(tbl.c.class_name, class_name)
        except RuntimeError as e:
            return defer.fail(e)
        return self.findSomethingId(
            tbl,
            (tbl.c.name == name) & (tbl.c.class_name == class_name),
            {"name": name, "class_name": class_name},
        )

    def getState(self, objectid: int, name: str, default: Any = _NO_DEFAULT) -> defer.Deferred:
        """The value stored under `name` for the object.

        Without a stored value, `default` if given, else a KeyError.
        """
        tbl = self.db.model.object_state
        q = sa.select(tbl.c.value_json).where((tbl.c.objectid == objectid) & (tbl.c.name == name))

        def thdGetState(conn: sa.Connection) -> Any:
            row = conn.execute(q).first()
            if row is None:
                if default is _NO_DEFAULT:
                    raise KeyError(f"no such state value '{name}' for object {objectid}")
                return default
            try:
                return json.loads(row.value_json)
            except ValueError as e:
                raise TypeError(f"JSON error loading state value '{name}' for {objectid}") from e

        return self.db.pool.do(thdGetState)

    def setState(self, objectid: int, name: str, value: Any) -> defer.Deferred[None]:
        """Store `value` (anything JSON can encode) under `name` for the object."""
        tbl = self.db.model.object_state
        try:
            self.checkLength(tbl.c.name, name)
            value_json = json.dumps(value)
        except RuntimeError as e:
            return defer.fail(e)
        except (TypeError, ValueError) as e:
            return defer.fail(TypeError(f"value for state '{name}' is not JSON-able: {e}"))
        where = (tbl.c.objectid == objectid) & (tbl.c.name == name)
        update = tbl.update().where(where).values(value_json=value_json)
        insert = tbl.insert().values(objectid=objectid, name=name, value_json=value_json)

        def thdSetState(conn: sa.Connection) -> None:
            if conn.execute(update).rowcount > 0:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert)
            except sa.exc.IntegrityError:
                # another master inserted it meanwhile: overwrite theirs
                conn.execute(update)

        return self.db.pool.do(thdSetState)

    def atomicCreateState(
        self, objectid: int, name: str, thd_create_callback: Callable[[], Any]
    ) -> defer.Deferred:
        """The value under `name`, created by `thd_create_callback()` if none exists.

        The callback runs in a DB thread. When several masters race, the first
        value stored wins and all of them return it.
        """
        tbl = self.db.model.object_state
        try:
            self.checkLength(tbl.c.name, name)
        except RuntimeError as e:
            return defer.fail(e)
        select = sa.select(tbl.c.value_json).where(
            (tbl.c.objectid == objectid) & (tbl.c.name == name)
        )

        def thdAtomicCreateState(conn: sa.Connection) -> Any:
            row = conn.execute(select).first()
            if row is not None:
                return json.loads(row.value_json)
            value = thd_create_callback()
            value_json = json.dumps(value)
            try:
                with conn.begin_nested():
                    conn.execute(
                        tbl.insert().values(objectid=objectid, name=name, value_json=value_json)
                    )
            except sa.exc.IntegrityError:
                row = conn.execute(select).first()
                if row is None:
                    raise
                return json.loads(row.value_json)
            return json.loads(value_json)

        return self.db.pool.do(thdAtomicCreateState)
