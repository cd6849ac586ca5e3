from __future__ import annotations

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import Property, renderer
from buildbot.process.results import EXCEPTION, FAILURE, SUCCESS, WARNINGS
from buildbot.steps import shell
from buildbot.steps.shellsequence import ShellArg, ShellSequence
from buildbot.test.steps import StepTestMixin


class ShellCommandTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    def test_command_required(self):
        with self.assertRaises(config.ConfigErrors):
            shell.ShellCommand()

    async def test_runs(self):
        self.setup_step(shell.ShellCommand(command=["echo", Property("x")]), x="hi")
        self.conn.expect("shell", {"command": ["echo", "hi"]}, updates=[{"stdout": "hi\n"}])
        self.assertEqual(await self.run_step(), SUCCESS)
        row = await self.step_row()
        self.assertEqual((row["name"], row["state_string"]), ("shell", "'echo hi'"))
        self.assertEqual(await self.log_text("stdio"), "ohi\nhprogram finished with exit code 0\n")

    async def test_fails(self):
        self.setup_step(shell.ShellCommand(command="a b c d e"))
        self.conn.expect("shell", rc=2)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual((await self.step_row())["state_string"], "'a b c ...' (failure)")

    async def test_configure(self):
        step = self.setup_step(shell.Configure())
        self.assertTrue(step.haltOnFailure)
        self.conn.expect("shell", {"command": ["./configure"]})
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual((await self.step_row())["state_string"], "configure")


class SetPropertyFromCommandTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    def test_exactly_one(self):
        for kwargs in ({}, {"property": "p", "extract_fn": lambda *a: {}}):
            with self.assertRaises(config.ConfigErrors):
                shell.SetPropertyFromCommand(command="x", **kwargs)

    async def test_property(self):
        self.setup_step(shell.SetPropertyFromCommand(property="rev", command="git rev-parse"))
        self.conn.expect("shell", updates=[{"stdout": "  abc123\n"}, {"stderr": "noise"}])
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.build.getProperty("rev"), "abc123")
        source = self.build.getProperties().getPropertySource("rev")
        self.assertEqual(source, "SetPropertyFromCommand Step")
        self.assertEqual((await self.step_row())["state_string"], "property 'rev' set")
        self.assertEqual(await self.log_text("property changes"), "rev: 'abc123'\n")

    async def test_property_failed_command_sets_nothing(self):
        self.setup_step(shell.SetPropertyFromCommand(property="rev", command="x"))
        self.conn.expect("shell", updates=[{"stdout": "junk\n"}], rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertFalse(self.build.hasProperty("rev"))

    async def test_extract_fn_called_on_failure(self):
        calls = []

        def extract(rc, stdout, stderr):
            calls.append((rc, stdout, stderr))
            return {"a": 1, "b": stdout.strip()}

        self.setup_step(shell.SetPropertyFromCommand(extract_fn=extract, command="x"))
        self.conn.expect("shell", updates=[{"stdout": "out\n"}, {"stderr": "err\n"}], rc=3)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(calls, [(3, "out\n", "err\n")])
        self.assertEqual((self.build.getProperty("a"), self.build.getProperty("b")), (1, "out"))
        self.assertEqual((await self.step_row())["state_string"], "2 properties set")


class WarningCountingTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    OUTPUT = (
        "make: Entering directory '/src/lib'\n"
        "foo.c:3: warning: unused x\n"
        "bar.c:9: warning: shadow y\n"
        "make: Leaving directory '/src/lib'\n"
        "all fine\n"
        "WARNING: deprecated\n"
    )

    async def test_counts_warnings(self):
        self.build.setProperty("warnings-count", 2, "Test")
        self.setup_step(shell.Compile())
        self.conn.expect("shell", {"command": ["make", "all"]}, updates=[{"stdout": self.OUTPUT}])
        self.assertEqual(await self.run_step(), WARNINGS)
        self.assertEqual(self.step.warnCount, 3)
        self.assertEqual(self.step.getStatistic("warnings"), 3)
        self.assertEqual(self.build.getProperty("warnings-count"), 5)
        self.assertIn("foo.c:3: warning: unused x\n", await self.log_text("warnings (3)"))

    async def test_max_warn_count_and_suppression(self):
        extract = shell.WarningCountingShellCommand.warnExtractFromRegexpGroups
        self.setup_step(
            shell.WarningCountingShellCommand(
                command="make",
                warningPattern=r"^(.*?):(\d+): warning: (.*)$",
                warningExtractor=extract,
                suppressionList=[(r"lib/bar\.c", "shadow", None, None)],
                maxWarnCount=0,
            )
        )
        self.conn.expect("shell", updates=[{"stdout": self.OUTPUT}])
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(self.step.loggedWarnings, ["foo.c:3: warning: unused x"])

    async def test_no_scanning(self):
        self.setup_step(shell.WarningCountingShellCommand(command="make", warningPattern=None))
        self.conn.expect("shell", updates=[{"stdout": self.OUTPUT}])
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_suppression_file(self):
        def write(args):
            args["writer"].remote_write(b"# comment\nfoo.c : unused : 1-5\n")

        self.setup_step(
            shell.Test(
                suppressionFile="supp",
                warningPattern=r"^(.*?):(\d+): warning: (.*)$",
                warningExtractor=shell.WarningCountingShellCommand.warnExtractFromRegexpGroups,
            )
        )
        self.conn.expect("uploadFile", {"workersrc": "supp"}, action=write)
        self.conn.expect("shell", {"command": ["make", "test"]}, updates=[{"stdout": self.OUTPUT}])
        self.assertEqual(await self.run_step(), WARNINGS)
        self.assertEqual(self.step.loggedWarnings, ["bar.c:9: warning: shadow y"])

    async def test_test_results_summary(self):
        class MyTest(shell.Test):
            async def createSummary(self):
                self.setTestResults(total=10, failed=2, passed=8)

        self.setup_step(MyTest())
        self.conn.expect("shell", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(
            (await self.step_row())["state_string"], "test (failure) 10 tests 8 passed 2 failed"
        )


class ShellSequenceTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    def test_config(self):
        with self.assertRaises(config.ConfigErrors):
            ShellSequence(commands=[ShellArg(command="a")], command="x")
        with self.assertRaises(config.ConfigErrors):
            ShellArg(command="a", bogus=True)
        with self.assertRaises(config.ConfigErrors):
            ShellSequence(commands=["not a shellarg"])

    async def test_sequence(self):
        self.setup_step(
            ShellSequence(
                commands=[
                    ShellArg(command=["a", Property("x")], logname="first"),
                    ShellArg(command="b", logname="second", flunkOnFailure=False),
                    ShellArg(command="c", logname="third", haltOnFailure=True),
                    ShellArg(command="never"),
                ]
            ),
            x="1",
        )
        self.conn.expect("shell", {"command": ["a", "1"]})
        self.conn.expect("shell", {"command": "b"}, rc=1)
        self.conn.expect("shell", {"command": "c"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual(await self.log_names(), ["first", "second", "third"])
        self.assertEqual(self.step.last_command, "c")

    async def test_renderable_commands(self):
        @renderer
        def cmds(props):
            return [ShellArg(command=props.getProperty("c"))]

        self.setup_step(ShellSequence(commands=cmds), c="make")
        self.conn.expect("shell", {"command": "make"})
        self.assertEqual(await self.run_step(), SUCCESS)

    async def test_not_a_list(self):
        self.setup_step(ShellSequence(commands=Property("nothing")))
        self.assertEqual(await self.run_step(), EXCEPTION)
