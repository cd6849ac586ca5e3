"""The state component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db import base
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def test_getObjectId_new_and_existing(self):
        id1 = await self.db.state.getObjectId("sched", "buildbot.schedulers.Nightly")
        self.assertEqual(
            await self.db.state.getObjectId("sched", "buildbot.schedulers.Nightly"), id1
        )
        id2 = await self.db.state.getObjectId("sched", "buildbot.schedulers.Periodic")
        id3 = await self.db.state.getObjectId("other", "buildbot.schedulers.Nightly")
        self.assertEqual(len({id1, id2, id3}), 3)

    async def test_getObjectId_existing_row(self):
        await self.insert_test_data([fakedb.Object(id=19, name="x", class_name="y")])
        self.assertEqual(await self.db.state.getObjectId("x", "y"), 19)

    async def test_getObjectId_long_name_is_shortened(self):
        name = "n" * 200
        objectid = await self.db.state.getObjectId(name, "cls")
        self.assertEqual(await self.db.state.getObjectId(name, "cls"), objectid)
        # a different long name with the same prefix is another object
        self.assertNotEqual(await self.db.state.getObjectId(name + "x", "cls"), objectid)
        await self.db.state.setState(objectid, "k", 1)
        self.assertEqual(await self.db.state.getObjectId(base.shorten(name, 128), "cls"), objectid)

    async def test_getObjectId_long_class_name_refused(self):
        with self.assertRaises(RuntimeError):
            await self.db.state.getObjectId("x", "c" * 129)

    async def test_getState_missing(self):
        with self.assertRaises(KeyError):
            await self.db.state.getState(10, "nope")
        self.assertEqual(await self.db.state.getState(10, "nope", 92), 92)
        self.assertIsNone(await self.db.state.getState(10, "nope", None))

    async def test_getState_existing(self):
        await self.insert_test_data(
            [
                fakedb.Object(id=10, name="x", class_name="y"),
                fakedb.ObjectState(objectid=10, name="x", value_json='[1, {"a": null}]'),
            ]
        )
        self.assertEqual(await self.db.state.getState(10, "x"), [1, {"a": None}])
        self.assertEqual(await self.db.state.getState(10, "x", 92), [1, {"a": None}])

    async def test_getState_bad_json(self):
        await self.insert_test_data(
            [
                fakedb.Object(id=10, name="x", class_name="y"),
                fakedb.ObjectState(objectid=10, name="x", value_json="{not json"),
            ]
        )
        with self.assertRaises(TypeError):
            await self.db.state.getState(10, "x")

    async def test_setState_insert_then_update(self):
        await self.insert_test_data([fakedb.Object(id=10, name="-", class_name="-")])
        await self.db.state.setState(10, "x", [1, 2])
        self.assertEqual(await self.db.state.getState(10, "x"), [1, 2])
        await self.db.state.setState(10, "x", {"a": "b"})
        self.assertEqual(await self.db.state.getState(10, "x"), {"a": "b"})
        # setting the same value again is not an insert conflict
        await self.db.state.setState(10, "x", {"a": "b"})
        self.assertEqual(await self.db.state.getState(10, "x"), {"a": "b"})
        await self.db.state.setState(10, "y", None)
        self.assertIsNone(await self.db.state.getState(10, "y"))
        self.assertEqual(await self.db.state.getState(10, "x"), {"a": "b"})

    async def test_setState_per_object(self):
        await self.insert_test_data(
            [
                fakedb.Object(id=10, name="a", class_name="-"),
                fakedb.Object(id=11, name="b", class_name="-"),
            ]
        )
        await self.db.state.setState(10, "x", 1)
        await self.db.state.setState(11, "x", 2)
        self.assertEqual(await self.db.state.getState(10, "x"), 1)
        self.assertEqual(await self.db.state.getState(11, "x"), 2)

    async def test_setState_not_jsonable(self):
        await self.insert_test_data([fakedb.Object(id=10, name="-", class_name="-")])
        with self.assertRaises(TypeError):
            await self.db.state.setState(10, "x", object())
        self.assertEqual(await self.db.state.getState(10, "x", "none"), "none")

    async def test_setState_long_name_refused(self):
        with self.assertRaises(RuntimeError):
            await self.db.state.setState(10, "n" * 256, 1)

    async def test_atomicCreateState_creates_once(self):
        await self.insert_test_data([fakedb.Object(id=10, name="-", class_name="-")])
        calls = []

        def create():
            calls.append(1)
            return {"secret": "s3"}

        self.assertEqual(await self.db.state.atomicCreateState(10, "x", create), {"secret": "s3"})
        self.assertEqual(await self.db.state.atomicCreateState(10, "x", create), {"secret": "s3"})
        self.assertEqual(len(calls), 1)
        self.assertEqual(await self.db.state.getState(10, "x"), {"secret": "s3"})

    async def test_atomicCreateState_existing(self):
        await self.insert_test_data(
            [
                fakedb.Object(id=10, name="-", class_name="-"),
                fakedb.ObjectState(objectid=10, name="x", value_json='"old"'),
            ]
        )
        self.assertEqual(
            await self.db.state.atomicCreateState(10, "x", lambda: self.fail("called")), "old"
        )

    async def test_atomicCreateState_returns_json_round_trip(self):
        await self.insert_test_data([fakedb.Object(id=10, name="-", class_name="-")])
        # what comes back is what a later getState sees: tuples become lists
        self.assertEqual(await self.db.state.atomicCreateState(10, "x", lambda: (1, 2)), [1, 2])


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
