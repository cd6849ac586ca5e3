"""The users component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

import sqlalchemy as sa

from buildbot.db.users import UserModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def _data(self):
        await self.insert_test_data(
            [
                fakedb.User(uid=1, identifier="soap", bb_username="soap", bb_password="pw"),
                fakedb.UserInfo(uid=1, attr_type="git", attr_data="Soap <soap@x>"),
                fakedb.UserInfo(uid=1, attr_type="irc", attr_data="soapy"),
                fakedb.User(uid=2, identifier="lye"),
                fakedb.SourceStamp(id=1),
                fakedb.Change(changeid=5, sourcestampid=1),
                fakedb.ChangeUser(changeid=5, uid=1),
            ]
        )

    async def test_findUserByAttr_existing(self):
        await self._data()
        self.assertEqual(await self.db.users.findUserByAttr("whatever", "git", "Soap <soap@x>"), 1)
        self.assertEqual(len(await self.db.users.getUsers()), 2)

    async def test_findUserByAttr_new(self):
        uid = await self.db.users.findUserByAttr("newbie", "git", "Newbie <n@x>")
        self.assertEqual(
            await self.db.users.getUser(uid),
            UserModel(uid, "newbie", None, None, {"git": "Newbie <n@x>"}),
        )
        self.assertEqual(await self.db.users.findUserByAttr("newbie", "git", "Newbie <n@x>"), uid)

    async def test_findUserByAttr_existing_identifier_gets_attribute(self):
        await self._data()
        uid = await self.db.users.findUserByAttr("lye", "svn", "lye")
        self.assertEqual(uid, 2)
        self.assertEqual((await self.db.users.getUser(2)).attributes, {"svn": "lye"})
        # a second value of the same type stays with the first one's owner
        self.assertEqual(await self.db.users.findUserByAttr("lye", "svn", "lye2"), 2)
        self.assertEqual((await self.db.users.getUser(2)).attributes, {"svn": "lye"})

    async def test_findUserByAttr_long_values_shortened(self):
        data = "x" * 200
        uid = await self.db.users.findUserByAttr("i" * 300, "git", data)
        user = await self.db.users.getUser(uid)
        self.assertLessEqual(len(user.identifier), 255)
        self.assertTrue(user.identifier.startswith("i" * 100))
        self.assertLessEqual(len(user.attributes["git"]), 128)
        self.assertEqual(await self.db.users.findUserByAttr("i" * 300, "git", data), uid)
        self.assertEqual(await self.db.users.identifierToUid("i" * 300), uid)

    async def test_getUser(self):
        await self._data()
        self.assertEqual(
            await self.db.users.getUser(1),
            UserModel(1, "soap", "soap", "pw", {"git": "Soap <soap@x>", "irc": "soapy"}),
        )
        self.assertEqual(await self.db.users.getUser(2), UserModel(2, "lye", None, None, {}))
        self.assertIsNone(await self.db.users.getUser(99))

    async def test_getUserByUsername(self):
        await self._data()
        self.assertEqual((await self.db.users.getUserByUsername("soap")).uid, 1)
        self.assertIsNone(await self.db.users.getUserByUsername("nobody"))

    async def test_getUsers(self):
        self.assertEqual(await self.db.users.getUsers(), [])
        await self._data()
        users = await self.db.users.getUsers()
        self.assertEqual(
            [(u.uid, u.identifier, len(u.attributes)) for u in users],
            [(1, "soap", 2), (2, "lye", 0)],
        )

    async def test_identifierToUid(self):
        await self._data()
        self.assertEqual(await self.db.users.identifierToUid("lye"), 2)
        self.assertIsNone(await self.db.users.identifierToUid("nobody"))

    async def test_updateUser(self):
        await self._data()
        await self.db.users.updateUser(uid=2, bb_username="lye", bb_password="secret")
        await self.db.users.updateUser(uid=2, attr_type="irc", attr_data="lyeirc")
        await self.db.users.updateUser(uid=1, identifier="soap2", attr_type="irc", attr_data="s2")
        self.assertEqual(
            await self.db.users.getUser(2), UserModel(2, "lye", "lye", "secret", {"irc": "lyeirc"})
        )
        self.assertEqual(
            await self.db.users.getUser(1),
            UserModel(1, "soap2", "soap", "pw", {"git": "Soap <soap@x>", "irc": "s2"}),
        )
        # unknown uid: nothing happens
        await self.db.users.updateUser(uid=99, identifier="ghost", attr_type="a", attr_data="b")
        self.assertEqual(len(await self.db.users.getUsers()), 2)

    async def test_updateUser_conflicts_change_nothing(self):
        await self._data()
        with self.assertRaises(sa.exc.IntegrityError):
            await self.db.users.updateUser(uid=2, bb_username="soap")
        with self.assertRaises(sa.exc.IntegrityError):
            await self.db.users.updateUser(
                uid=2, identifier="lye2", attr_type="irc", attr_data="soapy"
            )
        self.assertEqual(await self.db.users.getUser(2), UserModel(2, "lye", None, None, {}))

    async def test_updateUser_too_long(self):
        await self._data()
        with self.assertRaises(RuntimeError):
            await self.db.users.updateUser(uid=2, bb_username="u" * 200)
        self.assertIsNone((await self.db.users.getUser(2)).bb_username)

    async def test_removeUser(self):
        await self._data()
        await self.db.users.removeUser(1)
        self.assertIsNone(await self.db.users.getUser(1))
        self.assertEqual(await self.db.changes.getChangeUids(5), [])
        self.assertIsNone(await self.db.users.identifierToUid("soap"))
        # its attributes are free again
        uid = await self.db.users.findUserByAttr("new", "git", "Soap <soap@x>")
        self.assertNotEqual(uid, 1)
        await self.db.users.removeUser(99)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
