from __future__ import annotations

import json

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.state import _NO_DEFAULT
from buildbot.test.fakedb.base import FakeDBComponent


class FakeStateComponent(FakeDBComponent):
    def __init__(self, db) -> None:
        super().__init__(db)
        self._cols = db.model.objects.c
        self._state_cols = db.model.object_state.c

    def getObjectId(self, name, class_name):
        name = base.shorten(name, self._cols.name.type.length)
        try:
            self.checkLength(self._cols.class_name, class_name)
        except RuntimeError as e:
            return defer.fail(e)
        row = self.t.select_one(
            "objects", lambda r: r["name"] == name and r["class_name"] == class_name
        )
        if row is not None:
            return defer.succeed(row["id"])
        return defer.succeed(self.t.insert("objects", {"name": name, "class_name": class_name}))

    def _row(self, objectid, name):
        return self.t.select_one(
            "object_state", lambda r: r["objectid"] == objectid and r["name"] == name
        )

    def getState(self, objectid, name, default=_NO_DEFAULT):
        row = self._row(objectid, name)
        if row is None:
            if default is _NO_DEFAULT:
                return defer.fail(KeyError(f"no such state value '{name}' for object {objectid}"))
            return defer.succeed(default)
        try:
            return defer.succeed(json.loads(row["value_json"]))
        except ValueError as e:
            return defer.fail(TypeError(f"JSON error loading state value '{name}': {e}"))

    def setState(self, objectid, name, value):
        try:
            self.checkLength(self._state_cols.name, name)
        except RuntimeError as e:
            return defer.fail(e)
        try:
            value_json = json.dumps(value)
        except (TypeError, ValueError) as e:
            return defer.fail(TypeError(f"value for state '{name}' is not JSON-able: {e}"))
        where = lambda r: r["objectid"] == objectid and r["name"] == name  # noqa: E731
        if not self.t.update("object_state", where, {"value_json": value_json}):
            self.t.insert(
                "object_state", {"objectid": objectid, "name": name, "value_json": value_json}
            )
        return defer.succeed(None)

    def atomicCreateState(self, objectid, name, thd_create_callback):
        try:
            self.checkLength(self._state_cols.name, name)
        except RuntimeError as e:
            return defer.fail(e)
        row = self._row(objectid, name)
        if row is not None:
            return defer.succeed(json.loads(row["value_json"]))
        try:
            value_json = json.dumps(thd_create_callback())
        except Exception as e:
            return defer.fail(e)
        self.t.insert(
            "object_state", {"objectid": objectid, "name": name, "value_json": value_json}
        )
        return defer.succeed(json.loads(value_json))
