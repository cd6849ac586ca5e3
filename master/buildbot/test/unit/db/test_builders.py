"""The builders component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.builders import BuilderModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def test_findBuilderId_creates_then_finds(self):
        builderid = await self.db.builders.findBuilderId("some:builder")
        self.assertEqual(
            await self.db.builders.getBuilder(builderid),
            BuilderModel(id=builderid, name="some:builder"),
        )
        self.assertEqual(await self.db.builders.findBuilderId("some:builder"), builderid)
        self.assertNotEqual(await self.db.builders.findBuilderId("other"), builderid)

    async def test_findBuilderId_no_autoCreate(self):
        self.assertIsNone(await self.db.builders.findBuilderId("b", autoCreate=False))
        self.assertEqual(await self.db.builders.getBuilders(), [])
        await self.insert_test_data([fakedb.Builder(id=7, name="b")])
        self.assertEqual(await self.db.builders.findBuilderId("b", autoCreate=False), 7)

    async def test_findBuilderId_long_name(self):
        name = "x" * 500
        builderid = await self.db.builders.findBuilderId(name)
        self.assertEqual((await self.db.builders.getBuilder(builderid)).name, name)
        self.assertEqual(await self.db.builders.findBuilderId(name), builderid)

    async def test_getBuilder_unknown_is_none(self):
        self.assertIsNone(await self.db.builders.getBuilder(99))

    async def test_getBuilder_full(self):
        await self.insert_test_data(
            [
                fakedb.Project(id=3, name="proj"),
                fakedb.Master(id=9),
                fakedb.Master(id=8, name="other:master"),
                fakedb.Builder(
                    id=7,
                    name="b",
                    description="desc",
                    description_format="markdown",
                    description_html="<p>desc</p>",
                    projectid=3,
                ),
                fakedb.BuilderMaster(builderid=7, masterid=9),
                fakedb.BuilderMaster(builderid=7, masterid=8),
                fakedb.Tag(id=1, name="zeta"),
                fakedb.Tag(id=2, name="alpha"),
                fakedb.BuildersTags(builderid=7, tagid=1),
                fakedb.BuildersTags(builderid=7, tagid=2),
            ]
        )
        self.assertEqual(
            await self.db.builders.getBuilder(7),
            BuilderModel(
                id=7,
                name="b",
                description="desc",
                description_format="markdown",
                description_html="<p>desc</p>",
                projectid=3,
                tags=["alpha", "zeta"],
                masterids=[8, 9],
            ),
        )

    async def test_addBuilderMaster_idempotent(self):
        await self.insert_test_data([fakedb.Master(id=9), fakedb.Builder(id=7)])
        await self.db.builders.addBuilderMaster(builderid=7, masterid=9)
        await self.db.builders.addBuilderMaster(builderid=7, masterid=9)
        self.assertEqual((await self.db.builders.getBuilder(7)).masterids, [9])

    async def test_removeBuilderMaster(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=9),
                fakedb.Master(id=8, name="other:master"),
                fakedb.Builder(id=7),
                fakedb.BuilderMaster(id=70, builderid=7, masterid=9),
                fakedb.BuilderMaster(id=71, builderid=7, masterid=8),
                fakedb.Worker(id=30, name="w"),
                fakedb.ConfiguredWorker(buildermasterid=70, workerid=30),
                fakedb.ConfiguredWorker(buildermasterid=71, workerid=30),
            ]
        )
        await self.db.builders.removeBuilderMaster(builderid=7, masterid=9)
        self.assertEqual((await self.db.builders.getBuilder(7)).masterids, [8])
        # the worker stays configured where the builder still runs
        self.assertEqual([b.id for b in await self.db.builders.getBuilders(workerid=30)], [7])
        await self.db.builders.removeBuilderMaster(builderid=7, masterid=8)
        self.assertEqual(await self.db.builders.getBuilders(workerid=30), [])
        # removing what is not there is harmless
        await self.db.builders.removeBuilderMaster(builderid=7, masterid=8)

    async def insert_three_builders(self):
        await self.insert_test_data(
            [
                fakedb.Project(id=3, name="p3"),
                fakedb.Project(id=4, name="p4"),
                fakedb.Master(id=9),
                fakedb.Master(id=8, name="other:master"),
                fakedb.Builder(id=1, name="one", projectid=3),
                fakedb.Builder(id=2, name="two", projectid=4),
                fakedb.Builder(id=3, name="three"),
                fakedb.BuilderMaster(id=10, builderid=1, masterid=9),
                fakedb.BuilderMaster(id=11, builderid=1, masterid=8),
                fakedb.BuilderMaster(id=12, builderid=2, masterid=8),
                fakedb.Worker(id=30, name="w"),
                fakedb.ConfiguredWorker(buildermasterid=11, workerid=30),
            ]
        )

    async def test_getBuilders_all(self):
        await self.insert_three_builders()
        self.assertEqual(
            await self.db.builders.getBuilders(),
            [
                BuilderModel(id=1, name="one", projectid=3, masterids=[8, 9]),
                BuilderModel(id=2, name="two", projectid=4, masterids=[8]),
                BuilderModel(id=3, name="three"),
            ],
        )

    async def test_getBuilders_filters(self):
        await self.insert_three_builders()

        async def ids(**kwargs):
            return [b.id for b in await self.db.builders.getBuilders(**kwargs)]

        self.assertEqual(await ids(masterid=8), [1, 2])
        self.assertEqual(await ids(masterid=9), [1])
        self.assertEqual(await ids(masterid=99), [])
        self.assertEqual(await ids(projectid=4), [2])
        self.assertEqual(await ids(workerid=30), [1])
        self.assertEqual(await ids(workerid=31), [])
        self.assertEqual(await ids(masterid=8, projectid=4), [2])
        self.assertEqual(await ids(masterid=9, projectid=4), [])
        # a filter on one master still reports every master of the builder
        self.assertEqual((await self.db.builders.getBuilders(masterid=9))[0].masterids, [8, 9])

    async def test_updateBuilderInfo(self):
        await self.insert_test_data(
            [
                fakedb.Project(id=3, name="p3"),
                fakedb.Builder(id=7, name="b"),
                fakedb.Builder(id=8, name="other"),
                fakedb.Tag(id=1, name="old"),
                fakedb.Tag(id=2, name="kept"),
                fakedb.BuildersTags(builderid=7, tagid=1),
                fakedb.BuildersTags(builderid=8, tagid=1),
            ]
        )
        await self.db.builders.updateBuilderInfo(
            7, "desc", "markdown", "<p>desc</p>", 3, ["new", "kept", "new"]
        )
        self.assertEqual(
            await self.db.builders.getBuilder(7),
            BuilderModel(
                id=7,
                name="b",
                description="desc",
                description_format="markdown",
                description_html="<p>desc</p>",
                projectid=3,
                tags=["kept", "new"],
            ),
        )
        # the existing tag row was reused, a new one created
        self.assertEqual(await self.db.tags.findTagId("kept"), 2)
        self.assertEqual((await self.db.builders.getBuilder(8)).tags, ["old"])

        await self.db.builders.updateBuilderInfo(7, None, None, None, None, [])
        self.assertEqual(await self.db.builders.getBuilder(7), BuilderModel(id=7, name="b"))

    async def test_updateBuilderInfo_unknown_builder(self):
        await self.db.builders.updateBuilderInfo(99, "d", None, None, None, ["t"])
        self.assertIsNone(await self.db.builders.getBuilder(99))
        # nothing was written, not even the tag
        tagid = await self.db.tags.findTagId("other")
        self.assertEqual(await self.db.tags.findTagId("t"), tagid + 1)


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
