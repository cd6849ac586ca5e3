"""The `users` table and `users_info` (a user's identities: email, VCS name...)."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class UserModel:
    uid: int
    identifier: str
    bb_username: str | None = None
    bb_password: str | None = None
    attributes: dict[str, str] | None = None


class UsersConnectorComponent(base.DBConnectorComponent):
    def _thd_models(self, conn: sa.Connection, rows: list[Any]) -> list[UserModel]:
        info = self.db.model.users_info
        attrs: dict[int, dict[str, str]] = {r.uid: {} for r in rows}
        if attrs:
            q = sa.select(info).where(info.c.uid.in_(list(attrs)))
            for r in conn.execute(q):
                attrs[r.uid][r.attr_type] = r.attr_data
        return [
            UserModel(r.uid, r.identifier, r.bb_username, r.bb_password, attrs[r.uid]) for r in rows
        ]

    def _get_one(self, whereclause: Any) -> defer.Deferred[UserModel | None]:
        q = self.db.model.users.select().where(whereclause)

        def thdGetOne(conn: sa.Connection) -> UserModel | None:
            row = conn.execute(q).first()
            return self._thd_models(conn, [row])[0] if row is not None else None

        return self.db.pool.do(thdGetOne)

    def findUserByAttr(
        self, identifier: str, attr_type: str, attr_data: str
    ) -> defer.Deferred[int]:
        """The uid of the user with that attribute, creating the user if needed.

        A new attribute whose identifier names an existing user is added to
        that user (if it has no attribute of that type yet).
        """
        users, info = self.db.model.users, self.db.model.users_info
        identifier = self.ensureLength(users.c.identifier, identifier)
        attr_type = self.ensureLength(info.c.attr_type, attr_type)
        attr_data = self.ensureLength(info.c.attr_data, attr_data)
        by_attr = sa.select(info.c.uid).where(
            (info.c.attr_type == attr_type) & (info.c.attr_data == attr_data)
        )
        by_identifier = sa.select(users.c.uid).where(users.c.identifier == identifier)
        has_type = sa.select(info.c.uid).where(info.c.attr_type == attr_type)

        def thdFindUserByAttr(conn: sa.Connection) -> int:
            row = conn.execute(by_attr).first()
            if row is not None:
                return row.uid
            try:
                with conn.begin_nested():
                    row = conn.execute(by_identifier).first()
                    if row is not None:
                        uid = row.uid
                    else:
                        uid = conn.execute(
                            users.insert().values(identifier=identifier)
                        ).inserted_primary_key[0]
                    if conn.execute(has_type.where(info.c.uid == uid)).first() is None:
                        conn.execute(
                            info.insert().values(uid=uid, attr_type=attr_type, attr_data=attr_data)
                        )
                    return uid
            except sa.exc.IntegrityError:
                # another master created it meanwhile
                row = conn.execute(by_attr).first() or conn.execute(by_identifier).first()
                if row is None:
                    raise
                return row.uid

        return self.db.pool.do(thdFindUserByAttr)

    def getUser(self, uid: int) -> defer.Deferred[UserModel | None]:
        """The user with that uid (with its attributes), or None."""
        return self._get_one(self.db.model.users.c.uid == uid)

    def getUserByUsername(self, username: str) -> defer.Deferred[UserModel | None]:
        """The user with that web login name, or None."""
        return self._get_one(self.db.model.users.c.bb_username == username)

    def getUsers(self) -> defer.Deferred[list[UserModel]]:
        """Every user (with attributes), ordered by uid."""
        users = self.db.model.users
        q = users.select().order_by(users.c.uid)

        def thdGetUsers(conn: sa.Connection) -> list[UserModel]:
            return self._thd_models(conn, list(conn.execute(q)))

        return self.db.pool.do(thdGetUsers)

    def identifierToUid(self, identifier: str) -> defer.Deferred[int | None]:
        """The uid of the user with that identifier, or None."""
        users = self.db.model.users
        identifier = self.ensureLength(users.c.identifier, identifier)
        q = sa.select(users.c.uid).where(users.c.identifier == identifier)

        def thdIdentifierToUid(conn: sa.Connection) -> int | None:
            row = conn.execute(q).first()
            return row.uid if row is not None else None

        return self.db.pool.do(thdIdentifierToUid)

    def updateUser(
        self,
        uid: int | None = None,
        identifier: str | None = None,
        bb_username: str | None = None,
        bb_password: str | None = None,
        attr_type: str | None = None,
        attr_data: str | None = None,
    ) -> defer.Deferred[None]:
        """Change the given fields of a user; set attribute `attr_type` to `attr_data`.

        Fields left None are unchanged. A taken identifier or username raises
        IntegrityError and changes nothing.
        """
        users, info = self.db.model.users, self.db.model.users_info
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
                self.checkLength(users.c[k], v)
            self.checkLength(info.c.attr_type, attr_type)
            self.checkLength(info.c.attr_data, attr_data)
        except Exception:
            return defer.fail()
        set_attr = attr_type is not None and attr_data is not None

        def thdUpdateUser(conn: sa.Connection) -> None:
            if values:
                conn.execute(users.update().where(users.c.uid == uid).values(**values))
            if set_attr:
                exists = conn.execute(sa.select(users.c.uid).where(users.c.uid == uid)).first()
                if exists is None:
                    return
                where = (info.c.uid == uid) & (info.c.attr_type == attr_type)
                res = conn.execute(info.update().where(where).values(attr_data=attr_data))
                if res.rowcount == 0:
                    conn.execute(
                        info.insert().values(uid=uid, attr_type=attr_type, attr_data=attr_data)
                    )

        return self.db.pool.do(thdUpdateUser)

    def removeUser(self, uid: int) -> defer.Deferred[None]:
        """Delete a user, its attributes and its links to changes."""
        m = self.db.model

        def thdRemoveUser(conn: sa.Connection) -> None:
            for table in (m.change_users, m.users_info, m.users):
                conn.execute(table.delete().where(table.c.uid == uid))

        return self.db.pool.do(thdRemoveUser)
