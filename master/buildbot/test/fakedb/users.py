from __future__ import annotations

from twisted.internet import defer

from buildbot.db.users import UserModel
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.test.fakedb.store import integrity_error


class FakeUsersComponent(FakeDBComponent):
    def _col(self, table, column):
        return self.model.metadata.tables[table].c[column]

    def _ensure(self, table, column, value):
        return self.ensureLength(self._col(table, column), value)

    def _check(self, table, column, value):
        self.checkLength(self._col(table, column), value)

    def _model(self, row):
        attrs = {
            r["attr_type"]: r["attr_data"]
            for r in self.t.select("users_info", lambda r: r["uid"] == row["uid"])
        }
        return UserModel(
            row["uid"], row["identifier"], row["bb_username"], row["bb_password"], attrs
        )

    def _one(self, where):
        row = self.t.select_one("users", where)
        return defer.succeed(self._model(row) if row is not None else None)

    def findUserByAttr(self, identifier, attr_type, attr_data):
        identifier = self._ensure("users", "identifier", identifier)
        attr_type = self._ensure("users_info", "attr_type", attr_type)
        attr_data = self._ensure("users_info", "attr_data", attr_data)
        row = self.t.select_one(
            "users_info", lambda r: (r["attr_type"], r["attr_data"]) == (attr_type, attr_data)
        )
        if row is not None:
            return defer.succeed(row["uid"])
        user = self.t.select_one("users", lambda r: r["identifier"] == identifier)
        uid = user["uid"] if user else self.t.insert("users", {"identifier": identifier})
        if not self.t.select(
            "users_info", lambda r: (r["uid"], r["attr_type"]) == (uid, attr_type)
        ):
            self.t.insert(
                "users_info", {"uid": uid, "attr_type": attr_type, "attr_data": attr_data}
            )
        return defer.succeed(uid)

    def getUser(self, uid):
        return self._one(lambda r: r["uid"] == uid)

    def getUserByUsername(self, username):
        return self._one(lambda r: r["bb_username"] == username)

    def getUsers(self):
        rows = sorted(self.t.select("users"), key=lambda r: r["uid"])
        return defer.succeed([self._model(r) for r in rows])

    def identifierToUid(self, identifier):
        identifier = self._ensure("users", "identifier", identifier)
        row = self.t.select_one("users", lambda r: r["identifier"] == identifier)
        return defer.succeed(row["uid"] if row is not None else None)

    def updateUser(
        self,
        uid=None,
        identifier=None,
        bb_username=None,
        bb_password=None,
        attr_type=None,
        attr_data=None,
    ):
        values = {
            k: v
            for k, v in (
                ("identifier", identifier),
                ("bb_username", bb_username),
                ("bb_password", bb_password),
            )
            if v is not None
        }
        try:
            for k, v in values.items():
                self._check("users", k, v)
            self._check("users_info", "attr_type", attr_type)
            self._check("users_info", "attr_data", attr_data)
            if attr_type is not None and attr_data is not None:
                taken = self.t.select_one(
                    "users_info",
                    lambda r: (
                        (r["attr_type"], r["attr_data"]) == (attr_type, attr_data)
                        and r["uid"] != uid
                    ),
                )
                if taken is not None:
                    raise integrity_error(
                        "UNIQUE constraint failed: users_info.attr_type, attr_data"
                    )
            if values:
                self.t.update("users", lambda r: r["uid"] == uid, values)
        except Exception:
            return defer.fail()
        if attr_type is not None and attr_data is not None:
            if self.t.select_one("users", lambda r: r["uid"] == uid) is None:
                return defer.succeed(None)

            def where(r):
                return (r["uid"], r["attr_type"]) == (uid, attr_type)

            if not self.t.update("users_info", where, {"attr_data": attr_data}):
                self.t.insert(
                    "users_info", {"uid": uid, "attr_type": attr_type, "attr_data": attr_data}
                )
        return defer.succeed(None)

    def removeUser(self, uid):
        for table in ("change_users", "users_info", "users"):
            self.t.delete(table, lambda r: r["uid"] == uid)
        return defer.succeed(None)
