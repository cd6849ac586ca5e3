"""The steps component: one suite for the fake, SQLite, PostgreSQL and MySQL."""

from buildbot.db.steps import StepModel, UrlModel
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.util import epoch2datetime

TIME1 = 1304262222
TIME2 = 1304262223
TIME3 = 1304262224
NOW = 1304262300

BUILD_ROWS = [
    fakedb.Master(id=88),
    fakedb.Builder(id=77, name="b"),
    fakedb.Buildset(id=20),
    fakedb.BuildRequest(id=41, buildsetid=20, builderid=77),
    fakedb.Build(id=30, buildrequestid=41, number=7, masterid=88, builderid=77),
    fakedb.Build(id=31, buildrequestid=41, number=8, masterid=88, builderid=77),
]


class Tests:
    async def setUp(self):
        await super().setUp()
        self.patch(self.master.reactor, "seconds", lambda: NOW)
        await self.insert_test_data(BUILD_ROWS)

    async def insert_steps(self):
        await self.insert_test_data(
            [
                fakedb.Step(
                    id=70,
                    number=0,
                    name="one",
                    buildid=30,
                    started_at=TIME1,
                    locks_acquired_at=TIME2,
                    complete_at=TIME3,
                    state_string="test",
                    results=0,
                    urls_json='[{"name": "a", "url": "http://a"}]',
                ),
                fakedb.Step(id=71, number=1, name="two", buildid=30, started_at=TIME2, hidden=1),
                fakedb.Step(id=72, number=2, name="three", buildid=30),
                fakedb.Step(id=73, number=0, name="wrong-build", buildid=31),
            ]
        )

    async def test_getStep_by_id(self):
        await self.insert_steps()
        self.assertEqual(
            await self.db.steps.getStep(70),
            StepModel(
                id=70,
                number=0,
                name="one",
                buildid=30,
                started_at=epoch2datetime(TIME1),
                locks_acquired_at=epoch2datetime(TIME2),
                complete_at=epoch2datetime(TIME3),
                state_string="test",
                results=0,
                urls=[UrlModel("a", "http://a")],
                hidden=False,
            ),
        )
        step = await self.db.steps.getStep(71)
        self.assertEqual((step.hidden, step.urls, step.complete_at), (True, [], None))

    async def test_getStep_by_number_and_name(self):
        await self.insert_steps()
        self.assertEqual((await self.db.steps.getStep(buildid=30, number=1)).id, 71)
        self.assertEqual((await self.db.steps.getStep(buildid=31, number=0)).id, 73)
        self.assertEqual((await self.db.steps.getStep(buildid=30, name="three")).id, 72)
        self.assertIsNone(await self.db.steps.getStep(buildid=31, name="three"))
        self.assertIsNone(await self.db.steps.getStep(buildid=30, number=9))

    async def test_getStep_unknown(self):
        self.assertIsNone(await self.db.steps.getStep(999))

    async def test_getStep_bad_arguments(self):
        with self.assertRaises(ValueError):
            await self.db.steps.getStep()
        with self.assertRaises(ValueError):
            await self.db.steps.getStep(buildid=30)
        with self.assertRaises(ValueError):
            await self.db.steps.getStep(number=1, name="x")

    async def test_getSteps(self):
        await self.insert_steps()
        self.assertEqual([s.id for s in await self.db.steps.getSteps(30)], [70, 71, 72])
        self.assertEqual([s.id for s in await self.db.steps.getSteps(31)], [73])
        self.assertEqual(await self.db.steps.getSteps(999), [])

    async def test_getSteps_ordered_by_number(self):
        await self.insert_test_data(
            [
                fakedb.Step(id=80, number=2, name="c", buildid=30),
                fakedb.Step(id=81, number=0, name="a", buildid=30),
                fakedb.Step(id=82, number=1, name="b", buildid=30),
            ]
        )
        self.assertEqual([s.number for s in await self.db.steps.getSteps(30)], [0, 1, 2])

    async def test_addStep_first_and_next(self):
        stepid, number, name = await self.db.steps.addStep(30, "compile", "pending")
        self.assertEqual((number, name), (0, "compile"))
        self.assertEqual(
            await self.db.steps.getStep(stepid),
            StepModel(
                id=stepid,
                number=0,
                name="compile",
                buildid=30,
                started_at=None,
                locks_acquired_at=None,
                complete_at=None,
                state_string="pending",
                results=None,
                urls=[],
                hidden=False,
            ),
        )
        stepid2, number2, name2 = await self.db.steps.addStep(30, "test", "pending")
        self.assertNotEqual(stepid, stepid2)
        self.assertEqual((number2, name2), (1, "test"))
        # numbering is per build
        self.assertEqual((await self.db.steps.addStep(31, "compile", "x"))[1:], (0, "compile"))

    async def test_addStep_started(self):
        stepid, _, _ = await self.db.steps.addStep(30, "a", "pending", started_at=NOW)
        step = await self.db.steps.getStep(stepid)
        self.assertEqual((step.started_at, step.locks_acquired_at), (epoch2datetime(NOW), None))
        stepid, _, _ = await self.db.steps.addStep(
            30, "b", "pending", started_at=NOW, locks_acquired=True
        )
        step = await self.db.steps.getStep(stepid)
        self.assertEqual(step.locks_acquired_at, epoch2datetime(NOW))

    async def test_addStep_after_existing(self):
        await self.insert_steps()
        self.assertEqual((await self.db.steps.addStep(30, "four", "x"))[1:], (3, "four"))

    async def test_addStep_duplicate_names(self):
        names = [(await self.db.steps.addStep(30, "shell", "x"))[2] for _ in range(4)]
        # as Buildbot 4.3 numbers them (logs start at _2, steps at _1)
        self.assertEqual(names, ["shell", "shell_1", "shell_2", "shell_3"])
        steps = await self.db.steps.getSteps(30)
        self.assertEqual(
            [(s.number, s.name) for s in steps],
            [(0, "shell"), (1, "shell_1"), (2, "shell_2"), (3, "shell_3")],
        )

    async def test_addStep_duplicate_suffix_taken(self):
        await self.insert_test_data(
            [
                fakedb.Step(id=80, number=0, name="shell", buildid=30),
                fakedb.Step(id=81, number=1, name="shell_1", buildid=30),
            ]
        )
        self.assertEqual((await self.db.steps.addStep(30, "shell", "x"))[2], "shell_2")

    async def test_addStep_long_names(self):
        long_name = "x" * 60
        _, _, name1 = await self.db.steps.addStep(30, long_name, "x")
        self.assertEqual(len(name1), 50)
        self.assertTrue(name1.startswith("x" * 25))
        _, _, name2 = await self.db.steps.addStep(30, long_name, "x")
        self.assertEqual(name2, name1[:48] + "_1")
        name50 = "y" * 50
        self.assertEqual((await self.db.steps.addStep(30, name50, "x"))[2], name50)
        self.assertEqual((await self.db.steps.addStep(30, name50, "x"))[2], "y" * 48 + "_1")

    async def test_startStep(self):
        await self.insert_steps()
        await self.db.steps.startStep(72, started_at=TIME3)
        step = await self.db.steps.getStep(72)
        self.assertEqual((step.started_at, step.locks_acquired_at), (epoch2datetime(TIME3), None))
        await self.db.steps.startStep(72, started_at=TIME2, locks_acquired=True)
        step = await self.db.steps.getStep(72)
        self.assertEqual(
            (step.started_at, step.locks_acquired_at),
            (epoch2datetime(TIME2), epoch2datetime(TIME2)),
        )

    async def test_startStep_defaults_to_now(self):
        await self.insert_steps()
        await self.db.steps.startStep(72)
        self.assertEqual((await self.db.steps.getStep(72)).started_at, epoch2datetime(NOW))

    async def test_set_step_locks_acquired_at(self):
        await self.insert_steps()
        await self.db.steps.set_step_locks_acquired_at(72, locks_acquired_at=TIME3)
        self.assertEqual((await self.db.steps.getStep(72)).locks_acquired_at, epoch2datetime(TIME3))
        await self.db.steps.set_step_locks_acquired_at(72)
        self.assertEqual((await self.db.steps.getStep(72)).locks_acquired_at, epoch2datetime(NOW))

    async def test_setStepStateString(self):
        await self.insert_steps()
        await self.db.steps.setStepStateString(72, "running " * 100)
        self.assertEqual((await self.db.steps.getStep(72)).state_string, "running " * 100)
        self.assertEqual((await self.db.steps.getStep(70)).state_string, "test")

    async def test_addURL(self):
        await self.insert_steps()
        await self.db.steps.addURL(70, "b", "http://b")
        await self.db.steps.addURL(70, "a", "http://a")  # already there
        await self.db.steps.addURL(70, "a", "http://other")  # same name, other url
        self.assertEqual(
            (await self.db.steps.getStep(70)).urls,
            [UrlModel("a", "http://a"), UrlModel("b", "http://b"), UrlModel("a", "http://other")],
        )
        self.assertEqual((await self.db.steps.getStep(71)).urls, [])

    async def test_addURL_racehook_and_unknown_step(self):
        await self.insert_steps()
        hooked = []
        await self.db.steps.addURL(72, "n", "u", _racehook=lambda: hooked.append(1))
        self.assertEqual(hooked, [1])
        self.assertEqual((await self.db.steps.getStep(72)).urls, [UrlModel("n", "u")])
        await self.db.steps.addURL(999, "n", "u")  # nothing to do, no error

    async def test_finishStep(self):
        await self.insert_steps()
        await self.db.steps.finishStep(72, results=2, hidden=True)
        step = await self.db.steps.getStep(72)
        self.assertEqual(
            (step.complete_at, step.results, step.hidden), (epoch2datetime(NOW), 2, True)
        )
        await self.db.steps.finishStep(71, results=0, hidden=False)
        step = await self.db.steps.getStep(71)
        self.assertEqual((step.results, step.hidden), (0, False))

    async def test_finishStep_with_state_string(self):
        await self.insert_steps()
        before = await self.db.steps.getStep(72)
        await self.db.steps.finishStep(72, results=0, hidden=False, state_string="compiled")
        step = await self.db.steps.getStep(72)
        self.assertEqual((step.results, step.state_string), (0, "compiled"))
        self.assertNotEqual(before.state_string, "compiled")
        # without one, the state string stays
        await self.db.steps.finishStep(70, results=0, hidden=False)
        self.assertEqual((await self.db.steps.getStep(70)).state_string, "test")


TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)
