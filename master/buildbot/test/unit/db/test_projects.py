"""The projects component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.projects import ProjectModel
from buildbot.test import fakedb
from buildbot.test.util import db


class Tests:
    async def test_find_project_id_creates_then_finds(self):
        projectid = await self.db.projects.find_project_id("fake_project")
        self.assertEqual(
            await self.db.projects.get_project(projectid),
            ProjectModel(
                id=projectid,
                name="fake_project",
                slug="fake_project",
                description=None,
                description_format=None,
                description_html=None,
            ),
        )
        self.assertEqual(await self.db.projects.find_project_id("fake_project"), projectid)
        self.assertNotEqual(await self.db.projects.find_project_id("other"), projectid)

    async def test_find_project_id_no_auto_create(self):
        self.assertIsNone(await self.db.projects.find_project_id("p", auto_create=False))
        self.assertEqual(await self.db.projects.get_projects(), [])
        await self.insert_test_data([fakedb.Project(id=5, name="p")])
        self.assertEqual(await self.db.projects.find_project_id("p", auto_create=False), 5)

    async def test_find_project_id_long_name_shortens_slug(self):
        name = "n" * 80
        projectid = await self.db.projects.find_project_id(name)
        project = await self.db.projects.get_project(projectid)
        self.assertEqual(project.name, name)
        self.assertEqual(len(project.slug), 50)
        self.assertTrue(project.slug.startswith("n" * 25))
        self.assertEqual(await self.db.projects.find_project_id(name), projectid)

    async def test_get_project_unknown_is_none(self):
        self.assertIsNone(await self.db.projects.get_project(99))

    async def test_get_projects_ordered_by_name(self):
        await self.insert_test_data(
            [
                fakedb.Project(id=1, name="zproj", slug="z", description="d"),
                fakedb.Project(id=2, name="aproj", slug="a"),
            ]
        )
        self.assertEqual(
            await self.db.projects.get_projects(),
            [
                ProjectModel(2, "aproj", "a", None, None, None),
                ProjectModel(1, "zproj", "z", "d", None, None),
            ],
        )

    async def test_get_active_projects(self):
        await self.insert_test_data(
            [
                fakedb.Master(id=9),
                fakedb.Project(id=1, name="p1", slug="p1"),
                fakedb.Project(id=2, name="p2", slug="p2"),
                fakedb.Project(id=3, name="p3", slug="p3"),
                fakedb.Project(id=4, name="p4", slug="p4"),
                # p1: two running builders (listed once)
                fakedb.Builder(id=10, name="b10", projectid=1),
                fakedb.Builder(id=11, name="b11", projectid=1),
                fakedb.BuilderMaster(builderid=10, masterid=9),
                fakedb.BuilderMaster(builderid=11, masterid=9),
                # p2: a builder no master runs
                fakedb.Builder(id=20, name="b20", projectid=2),
                # p3: running
                fakedb.Builder(id=30, name="b30", projectid=3),
                fakedb.BuilderMaster(builderid=30, masterid=9),
                # no project
                fakedb.Builder(id=40, name="b40"),
                fakedb.BuilderMaster(builderid=40, masterid=9),
            ]
        )
        self.assertEqual([p.id for p in await self.db.projects.get_active_projects()], [1, 3])

    async def test_get_active_projects_empty(self):
        await self.insert_test_data([fakedb.Project(id=1)])
        self.assertEqual(await self.db.projects.get_active_projects(), [])

    async def test_update_project_info(self):
        await self.insert_test_data(
            [fakedb.Project(id=1, name="p1", slug="p1"), fakedb.Project(id=2, name="p2", slug="p2")]
        )
        await self.db.projects.update_project_info(1, "slug1", "desc", "markdown", "<p>desc</p>")
        self.assertEqual(
            await self.db.projects.get_project(1),
            ProjectModel(1, "p1", "slug1", "desc", "markdown", "<p>desc</p>"),
        )
        self.assertEqual((await self.db.projects.get_project(2)).slug, "p2")
        await self.db.projects.update_project_info(1, "slug1", None, None, None)
        self.assertEqual(
            await self.db.projects.get_project(1), ProjectModel(1, "p1", "slug1", None, None, None)
        )
        # an unknown project is left alone
        await self.db.projects.update_project_info(99, "s", None, None, None)
        self.assertIsNone(await self.db.projects.get_project(99))

    async def test_update_project_info_slug_too_long(self):
        await self.insert_test_data([fakedb.Project(id=1, name="p1", slug="p1")])
        with self.assertRaises(RuntimeError):
            await self.db.projects.update_project_info(1, "s" * 51, "d", None, None)
        self.assertEqual(
            await self.db.projects.get_project(1), ProjectModel(1, "p1", "p1", None, None, None)
        )


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
