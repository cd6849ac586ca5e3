from __future__ import annotations

from typing import Any

from twisted.internet import defer, error
from twisted.trial import unittest

from buildbot import config, locks
from buildbot.process import buildstep, logobserver, remotecommand
from buildbot.process.properties import Interpolate, Property
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.test.steps import StepTestMixin


class Returns(buildstep.BuildStep):
    """A step whose run() returns (or raises) what it was given."""

    def __init__(self, result: Any = SUCCESS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result

    async def run(self) -> int:
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


class FactoryTests(unittest.TestCase):
    def test_records_arguments_and_builds_fresh_instances(self):
        step = Returns(WARNINGS, name="x", haltOnFailure=True)
        factory = step.get_step_factory()
        self.assertEqual(
            (factory.args, factory.kwargs), ((WARNINGS,), {"name": "x", "haltOnFailure": True})
        )
        one, two = factory.buildStep(), factory.buildStep()
        self.assertIsNot(one, two)
        self.assertIsNot(one, step)
        self.assertEqual((one.result, one.name, one.haltOnFailure), (WARNINGS, "x", True))

    def test_unknown_kwarg_is_config_error(self):
        with self.assertRaises(config.ConfigErrors) as cm:
            Returns(nosuchkwarg=1)
        self.assertIn("nosuchkwarg", str(cm.exception))

    def test_errors_are_collected_while_loading(self):
        with config.capture_config_errors() as errors:
            Returns(bogus=1, name=["not a string"])
        self.assertEqual(len(errors.errors), 2)

    def test_bad_types(self):
        for kwargs in (
            {"haltOnFailure": "yes"},
            {"name": "x" * 51},
            {"locks": [object()]},
            {"updateBuildSummaryPolicy": "all"},
            {"description": 5},
        ):
            with self.assertRaises(config.ConfigErrors, msg=repr(kwargs)):
                Returns(**kwargs)

    def test_renderable_bools_accepted(self):
        Returns(haltOnFailure=Property("halt"), name=Interpolate("n-%(prop:x)s"))

    def test_setting_attributes_after_init_is_an_error(self):
        step = Returns()
        with self.assertRaises(config.ConfigErrors):
            step.haltOnFailure = True
        self.assertFalse(step.haltOnFailure)

    def test_set_step_arg(self):
        step = Returns(name="x")
        step.set_step_arg("haltOnFailure", True)
        self.assertTrue(step.get_step_factory().buildStep().haltOnFailure)
        with self.assertRaises(config.ConfigErrors):
            step.set_step_arg("bogus", 1)

    def test_factory_compares_by_arguments(self):
        self.assertEqual(Returns(name="a").get_step_factory(), Returns(name="a").get_step_factory())
        self.assertNotEqual(
            Returns(name="a").get_step_factory(), Returns(name="b").get_step_factory()
        )

    def test_renderables_accumulate(self):
        class Sub(Returns):
            renderables = ["result"]

        names = buildstep._collect_renderables(Sub)
        self.assertIn("result", names)
        self.assertIn("haltOnFailure", names)


class LifeCycleTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_success(self):
        self.setup_step(Returns(name="hello", description="saying", descriptionDone="said"))
        self.assertEqual(await self.run_step(), SUCCESS)
        row = await self.step_row()
        self.assertEqual(row["name"], "hello")
        self.assertEqual(row["results"], SUCCESS)
        self.assertTrue(row["complete"])
        self.assertEqual(row["state_string"], "said")
        self.assertFalse(row["hidden"])
        # added and started in one write; its locks (none) count as acquired
        self.updates.assertCalled(
            "addStep",
            buildid=self.step.build.buildid,
            name="hello",
            start=True,
            locks_acquired=True,
        )
        self.assertNotIn("startStep", [name for name, _ in self.updates.calls])
        self.assertIsNotNone(row["started_at"])
        self.assertEqual(row["locks_acquired_at"], row["started_at"])

    async def test_unique_names(self):
        self.setup_step(Returns(name="same"))
        await self.run_step()
        first = self.step
        self.setup_step(Returns(name="same"))
        await self.run_step()
        # the DB layer makes the name unique (the build engine may already have)
        self.assertEqual((first.name, self.step.name), ("same", "same_1"))
        self.assertEqual(self.step.number, first.number + 1)

    async def test_rendered_name_and_attributes(self):
        self.setup_step(
            Returns(name=Interpolate("n-%(prop:x)s"), haltOnFailure=Property("h")), x="1", h=True
        )
        await self.run_step()
        self.assertEqual(self.step.name, "n-1")
        self.assertIs(self.step.haltOnFailure, True)
        self.assertTrue(self.step.rendered)

    async def test_result_summary_not_success(self):
        self.setup_step(Returns(FAILURE))
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual((await self.step_row())["state_string"], "finished (failure)")

    async def test_exception_mapping(self):
        cases = [
            (buildstep.BuildStepFailed(), FAILURE),
            (buildstep.BuildStepCancelled(), CANCELLED),
            (remotecommand.RemoteConnectionLost(), RETRY),
            (error.ConnectionLost(), RETRY),
            (ValueError("boom"), EXCEPTION),
        ]
        for exc, expected in cases:
            self.setup_step(Returns(exc))
            self.assertEqual(await self.run_step(), expected, repr(exc))
        self.assertEqual(await self.log_names(), ["err.text", "err.html"])
        self.assertIn("ValueError: boom", await self.log_text("err.text"))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    async def test_run_not_implemented(self):
        self.setup_step(buildstep.BuildStep())
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.assertEqual(len(self.flushLoggedErrors(NotImplementedError)), 1)

    async def test_doStepIf(self):
        for cond, expected in (
            (False, SKIPPED),
            (True, SUCCESS),
            (lambda step: step.getProperty("go") == "yes", SUCCESS),
            (lambda step: defer.succeed(False), SKIPPED),
            (Property("go"), SUCCESS),
        ):
            self.setup_step(Returns(doStepIf=cond), go="yes")
            self.assertEqual(await self.run_step(), expected)
            row = await self.step_row()
            # as in Buildbot 4.3: a skipped step never acquired its (no) locks
            if expected == SKIPPED:
                self.assertIsNone(row["locks_acquired_at"])
            else:
                self.assertEqual(row["locks_acquired_at"], row["started_at"])

    async def test_hideStepIf(self):
        seen = []

        def hide(results, step):
            seen.append((results, step))
            return results == SUCCESS

        self.setup_step(Returns(hideStepIf=hide))
        await self.run_step()
        self.assertEqual(seen, [(SUCCESS, self.step)])
        self.assertTrue((await self.step_row())["hidden"])
        self.setup_step(Returns(FAILURE, hideStepIf=hide))
        await self.run_step()
        self.assertFalse((await self.step_row())["hidden"])

    async def test_properties_delegate_to_build(self):
        class Setter(buildstep.BuildStep):
            async def run(self):
                self.setProperty("out", self.getProperty("in") + 1, "Setter")
                return SUCCESS

        self.setup_step(Setter(), **{"in": 1})
        await self.run_step()
        self.assertEqual(self.build.getProperty("out"), 2)
        self.assertEqual(self.build.getProperties().getPropertySource("out"), "Setter")

    async def test_stopped_forces_exception(self):
        class Stops(buildstep.BuildStep):
            async def run(self):
                await self.interrupt("enough")
                return SUCCESS

        self.setup_step(Stops())
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.assertEqual(await self.log_text("cancelled"), "enough\n")

    async def test_workdir(self):
        step = self.setup_step(Returns())
        self.assertEqual(step.workdir, "wkdir")
        step = self.setup_step(Returns(workdir="own"))
        self.assertEqual(step.workdir, "own")
        step = Returns().get_step_factory().buildStep()
        step.setBuild(self.build)
        self.build.workdir = lambda sources: f"cb-{len(sources)}"
        self.assertEqual(step.workdir, "cb-0")


class LogsAndSummaryTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_logs(self):
        class Logs(buildstep.BuildStep):
            async def run(self):
                stdio = await self.addLog("stdio")
                await stdio.addStdout("out\n")
                await stdio.addStderr("err\n")
                await stdio.addHeader("head\n")
                await self.addCompleteLog("summary", "all good\n")
                await self.addHTMLLog("report", "<b>x</b>")
                await self.addURL("home", "http://example.org")
                self.unfinished = await self.addLog("open", type="t")
                await self.unfinished.addContent("partial")
                return SUCCESS

        self.setup_step(Logs())
        await self.run_step()
        self.assertEqual(await self.log_names(), ["stdio", "summary", "report", "open"])
        self.assertEqual(await self.log_text("stdio"), "oout\neerr\nhhead\n")
        self.assertEqual(await self.log_text("summary"), "all good\n")
        self.assertEqual(await self.log_text("report"), "<b>x</b>\n")
        self.assertEqual(await self.log_text("open"), "partial\n")
        self.assertTrue(self.step.logs["open"].isFinished())
        row = await self.step_row()
        self.assertEqual(row["urls"], [{"name": "home", "url": "http://example.org"}])

    async def test_log_observer_before_log_exists(self):
        lines = []

        class Obs(logobserver.LogLineObserver):
            def outLineReceived(self, line):
                lines.append(line)

        class Observed(buildstep.BuildStep):
            def __init__(self, **kw):
                super().__init__(**kw)
                self.addLogObserver("stdio", Obs())

            async def run(self):
                lg = await self.addLog("stdio")
                await lg.addStdout("a\nb\n")
                return SUCCESS

        self.setup_step(Observed())
        await self.run_step()
        self.assertEqual(lines, ["a", "b"])

    async def test_updateSummary_is_debounced(self):
        step_holder = {}

        class Counting(buildstep.BuildStep):
            count = 0

            def getCurrentSummary(self):
                self.count += 1
                return {"step": f"at {self.count}"}

            async def run(self):
                step_holder["d"] = d = defer.Deferred()
                for _ in range(10):
                    self.updateSummary()
                await d
                return SUCCESS

        self.setup_step(Counting())
        running = self.step.startStep(self.conn)
        self.reactor.advance(1)
        self.assertEqual(self.step.count, 1)
        self.reactor.advance(5)
        self.assertEqual(self.step.count, 1)
        for _ in range(5):
            self.step.updateSummary()
        self.reactor.advance(1)
        self.assertEqual(self.step.count, 2)
        self.assertEqual((await self.step_row())["state_string"], "at 2")
        step_holder["d"].callback(None)
        self.assertEqual(await running, SUCCESS)

    async def test_summary_with_secrets_scrubbed(self):
        self.build.properties.useSecret("s3cr3t", "pw")
        self.setup_step(Returns(descriptionDone="using s3cr3t", descriptionSuffix=["a", "b"]))
        await self.run_step()
        self.assertEqual((await self.step_row())["state_string"], "using <pw> a b")

    async def test_build_result_summary(self):
        for result, policy, expected in (
            (FAILURE, None, {"step": "finished (failure)", "build": "finished (failure)"}),
            (SUCCESS, None, {"step": "finished"}),
            (WARNINGS, None, {"step": "finished (warnings)"}),
            (SUCCESS, True, {"step": "finished", "build": "finished"}),
            (FAILURE, False, {"step": "finished (failure)"}),
        ):
            self.setup_step(Returns(result, updateBuildSummaryPolicy=policy))
            await self.run_step()
            self.assertEqual(await self.step.getBuildResultSummary(), expected)

    async def test_statistics(self):
        step = self.setup_step(Returns())
        step.setStatistic("warnings", 3)
        self.assertTrue(step.hasStatistic("warnings"))
        self.assertEqual((step.getStatistic("warnings"), step.getStatistic("x", 0)), (3, 0))
        self.assertEqual(step.getStatistics(), {"warnings": 3})

    async def test_worker_versions(self):
        step = self.setup_step(Returns())
        step.remote = self.conn
        self.assertEqual(step.workerVersion("shell"), "3.3")
        self.assertEqual(step.workerVersion("nope", "1.0"), "1.0")
        self.assertFalse(step.workerVersionIsOlderThan("shell", "3.0"))
        self.assertTrue(step.workerVersionIsOlderThan("shell", "3.10"))
        step.checkWorkerHasCommand("shell")
        with self.assertRaises(buildstep.WorkerSetupError):
            step.checkWorkerHasCommand("nope")


class OldStyleTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_start_and_finished_with_dropped_deferreds(self):
        class Old(buildstep.BuildStep):
            def start(self):
                # the Deferreds are dropped: the step still waits for them
                self.addCompleteLog("one", "1")
                self.addURL("u", "http://u")
                self.finished(WARNINGS)

        self.setup_step(Old())
        self.assertEqual(await self.run_step(), WARNINGS)
        self.assertEqual(await self.log_text("one"), "1\n")
        self.assertEqual(len((await self.step_row())["urls"]), 1)

    async def test_dropped_deferreds_awaited_before_end(self):
        gate: defer.Deferred[None] = defer.Deferred()
        self.updates.override("addStepURL", lambda *a, **kw: gate)

        class Old(buildstep.BuildStep):
            async def run(self):
                self.addURL("u", "http://u")
                return SUCCESS

        self.setup_step(Old())
        d = self.step.startStep(self.conn)
        self.assertFalse(d.called)
        gate.callback(None)
        self.assertEqual(await d, SUCCESS)

    async def test_failed(self):
        class Old(buildstep.BuildStep):
            def start(self):
                self.failed(RuntimeError("old"))

        self.setup_step(Old())
        self.assertEqual(await self.run_step(), EXCEPTION)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class LockTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_locks_serialise_steps(self):
        lock = locks.MasterLock("l")
        gates: list[defer.Deferred[None]] = []

        class Waits(buildstep.BuildStep):
            async def run(self):
                d: defer.Deferred[None] = defer.Deferred()
                gates.append(d)
                await d
                return SUCCESS

        first = self.setup_step(Waits(locks=[lock.access("exclusive")]))
        d1 = first.startStep(self.conn)
        second = self.setup_step(Waits(locks=[lock]))
        d2 = second.startStep(self.conn)
        self.assertEqual(len(gates), 1)
        self.updates.assertCalled(
            "addStep",
            buildid=first.build.buildid,
            name=first.name,
            start=True,
            locks_acquired=False,
        )
        gates[0].callback(None)
        self.assertEqual(await d1, SUCCESS)
        self.assertEqual(len(gates), 2)
        gates[1].callback(None)
        self.assertEqual(await d2, SUCCESS)
        self.updates.assertCalled("set_step_locks_acquired_at", stepid=second.stepid)

    async def test_interrupt_while_waiting_for_locks(self):
        lock = locks.MasterLock("l")
        gate: defer.Deferred[None] = defer.Deferred()

        class Waits(buildstep.BuildStep):
            async def run(self):
                await gate
                return SUCCESS

        first = self.setup_step(Waits(locks=[lock]))
        d1 = first.startStep(self.conn)
        second = self.setup_step(Waits(locks=[lock]))
        d2 = second.startStep(self.conn)
        await second.interrupt("stop it")
        self.assertEqual(await d2, CANCELLED)
        self.assertEqual(await self.log_text("cancelled while waiting for locks"), "stop it\n")
        gate.callback(None)
        self.assertEqual(await d1, SUCCESS)


class ShellMixinTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    def make_step_class(self, **make_kwargs: Any) -> type:
        class Shell(buildstep.ShellMixin, buildstep.BuildStep):
            def __init__(self, **kwargs):
                kwargs = self.setupShellMixin(kwargs, prohibitArgs=["maxTime"])
                super().__init__(**kwargs)

            async def run(self):
                cmd = await self.makeRemoteShellCommand(**make_kwargs)
                await self.runCommand(cmd)
                self.ran = cmd
                return cmd.results()

        return Shell

    async def test_runs_command(self):
        Shell = self.make_step_class(collectStdout=True)
        self.build.env = {"A": "builder", "B": Property("b")}
        self.setup_step(
            Shell(command=["make", ["-j", Property("j")]], env={"A": "step"}), j="4", b="x"
        )
        self.conn.expect(
            "shell",
            {
                "command": ["make", "-j", "4"],
                "workdir": "wkdir",
                "env": {"A": "step", "B": "x"},
                "timeout": 1200,
                "usePTY": False,
                "interruptSignal": "KILL",
            },
            updates=[{"stdout": "hello\n"}, {"stderr": "oops\n"}],
            rc=0,
        )
        self.assertEqual(await self.run_step(), SUCCESS)
        self.assertEqual(self.step.ran.stdout, "hello\n")
        self.assertEqual(
            await self.log_text("stdio"),
            "ohello\neoops\nhprogram finished with exit code 0\n",
        )
        self.assertEqual((await self.step_row())["state_string"], "'make -j 4'")

    async def test_decodeRC_and_failure_summary(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="false", decodeRC={0: SUCCESS, 1: WARNINGS}))
        self.conn.expect("shell", rc=1)
        self.assertEqual(await self.run_step(), WARNINGS)
        self.setup_step(Shell(command="false"))
        self.conn.expect("shell", rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual((await self.step_row())["state_string"], "'false' (failure)")

    async def test_timed_out(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="sleep 100", descriptionDone="slept"))
        self.conn.expect("shell", updates=[{"failure_reason": "timeout"}], rc=-1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertTrue(self.step.timed_out)
        self.assertEqual((await self.step_row())["state_string"], "slept (failure) (timed out)")

    async def test_logfiles(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="x", logfiles={"out": "out.txt"}))
        self.conn.expect(
            "shell", {"logfiles": {"out": "out.txt"}}, updates=[{"log": ("out", "l1\n")}]
        )
        await self.run_step()
        self.assertEqual(await self.log_names(), ["stdio", "out"])
        self.assertEqual(await self.log_text("out"), "ol1\n")

    async def test_lazylogfiles(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="x", logfiles={"a": "a", "b": "b"}, lazylogfiles=True))
        self.conn.expect("shell", updates=[{"log": ("b", "l1\n")}])
        await self.run_step()
        self.assertEqual(await self.log_names(), ["stdio", "b"])

    async def test_no_stdio(self):
        Shell = self.make_step_class(stdioLogName=None)
        self.setup_step(Shell(command="x"))
        self.conn.expect("shell", updates=[{"stdout": "dropped\n"}])
        await self.run_step()
        self.assertEqual(await self.log_names(), [])

    async def test_bad_arguments(self):
        Shell = self.make_step_class()
        for kwargs in ({"maxTime": 5}, {"bogus": 1}, {"want_stdout": "yes"}, {"env": []}):
            with self.assertRaises(config.ConfigErrors, msg=repr(kwargs)):
                Shell(command="x", **kwargs)

    async def test_interrupt(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="sleep"))
        self.conn.expect("shell", hang=True)
        d = self.step.startStep(self.conn)
        self.assertFalse(d.called)
        await self.step.interrupt("user says stop")
        self.assertEqual(await d, CANCELLED)
        self.assertEqual(self.conn.interrupts[0][1], "user says stop")
        self.assertEqual(await self.log_text("cancelled"), "user says stop\n")

    async def test_connection_lost(self):
        Shell = self.make_step_class()
        self.setup_step(Shell(command="x"))
        self.conn.expect("shell", lose=True)
        self.assertEqual(await self.run_step(), RETRY)

    async def test_runCommand_when_stopped(self):
        step = self.setup_step(Returns())
        step.stopped = True
        result = await step.runCommand(remotecommand.RemoteCommand("stat", {}))
        self.assertEqual(result, CANCELLED)

    async def test_old_worker_notes(self):
        Shell = self.make_step_class()
        self.conn.info["worker_commands"]["shell"] = "2.5"
        self.setup_step(Shell(command="x", usePTY=True))
        self.conn.expect("shell")
        await self.run_step()
        self.assertNotIn("usePTY", self.conn.started[0][1])
        text = await self.log_text("stdio")
        self.assertIn("hNOTE: worker does not allow master to override usePTY", text)
        self.assertIn("interruptSignal", text)


class CommandMixinTests(StepTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_step_test()

    async def test_helpers(self):
        class Cmds(buildstep.CommandMixin, buildstep.BuildStep):
            async def run(self):
                self.exists = await self.pathExists("f")
                self.missing = await self.pathExists("g")
                self.files = await self.runGlob("*.c")
                await self.runMkdir("d")
                await self.runRmdir("d")
                return SUCCESS

        self.setup_step(Cmds())
        self.conn.expect("stat", {"file": "f"}, rc=0)
        self.conn.expect("stat", {"file": "g"}, rc=1)
        self.conn.expect("glob", {"path": "*.c"}, updates=[{"files": ["a.c"]}])
        self.conn.expect("mkdir", {"dir": "d"})
        self.conn.expect("rmdir", {"dir": "d"}, rc=1)
        self.assertEqual(await self.run_step(), FAILURE)
        self.assertEqual((self.step.exists, self.step.missing), (True, False))
        self.assertEqual(self.step.files, ["a.c"])
