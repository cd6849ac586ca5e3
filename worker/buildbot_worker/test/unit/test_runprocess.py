import os
import signal
import sys

from twisted.internet import error, reactor, task
from twisted.python import failure
from twisted.trial import unittest

from buildbot_worker.runprocess import CommandEnvError, KillFailed, RunProcess, merge_environ


class TestMergeEnviron(unittest.TestCase):
    base = {"PATH": "/usr/bin", "HOME": "/h", "GONE": "x"}

    def test_merging(self):
        env = merge_environ(
            self.base,
            {"PATH": ["/opt/bin", "${PATH}"], "A": "${HOME}/a", "GONE": None, "E": "${NOPE}"},
            pathsep=":",
        )
        self.assertEqual(env["PATH"], "/opt/bin:/usr/bin")
        self.assertEqual(env["A"], "/h/a")
        self.assertEqual(env["E"], "")
        self.assertNotIn("GONE", env)
        self.assertEqual(env["HOME"], "/h")

    def test_pythonpath_keeps_worker_value(self):
        env = merge_environ({"PYTHONPATH": "/w"}, {"PYTHONPATH": ["/a", "/b"]}, pathsep=":")
        self.assertEqual(env["PYTHONPATH"], "/a:/b:/w")

    def test_bad_value_type(self):
        with self.assertRaises(CommandEnvError):
            merge_environ(self.base, {"X": 3})


class FakeProcess:
    """Stands in for a child: records signals; ends when told to (or when killed)."""

    pid = None

    def __init__(self, proto, dies_on=("KILL", "TERM")):
        self.proto, self.dies_on, self.signals, self.stdin = proto, dies_on, [], b""

    def write(self, data):
        self.stdin += data

    def closeStdin(self):
        pass

    def signalProcess(self, name):
        self.signals.append(name)
        if name in self.dies_on:
            self.end(signal=getattr(signal, "SIG" + name))

    def end(self, code=None, signal=None):
        if signal is not None:
            reason = error.ProcessTerminated(exitCode=None, signal=signal)
        elif code:
            reason = error.ProcessTerminated(exitCode=code)
        else:
            reason = error.ProcessDone(0)
        self.proto.processEnded(failure.Failure(reason))


class TestRunProcessWithClock(unittest.TestCase):
    def make(self, dies_on=("KILL", "TERM"), **kwargs):
        self.clock = task.Clock()
        self.updates = []
        proc = RunProcess(
            self.clock,
            ["prog", "arg"],
            self.mktemp(),
            lambda k, v: self.updates.append((k, v)),
            environ={"A": "1"},
            spawn=lambda: self.child,
            **kwargs,
        )
        self.child = FakeProcess(proc, dies_on)
        return proc

    def keys(self):
        return [k for k, _ in self.updates]

    def headers(self):
        return "".join(v for k, v in self.updates if k == "header")

    def test_obfuscated_argument_runs_but_is_not_shown(self):
        self.clock = task.Clock()
        self.updates = []
        proc = RunProcess(
            self.clock,
            ["prog", ("obfuscated", "s3cret", "XXX")],
            self.mktemp(),
            lambda k, v: self.updates.append((k, v)),
            spawn=lambda: self.child,
        )
        self.child = FakeProcess(proc, ("KILL", "TERM"))
        d = proc.start()
        self.child.end(code=0)
        self.successResultOf(d)
        self.assertEqual(proc.argv, ["prog", "s3cret"])
        self.assertIn("prog XXX\n", self.headers())
        self.assertNotIn("s3cret", self.headers())

    def test_exit_code_and_header(self):
        proc = self.make(timeout=10)
        d = proc.start()
        proc.outReceived(b"hello\n")
        self.clock.advance(1.5)
        self.child.end(code=3)
        self.assertEqual(self.successResultOf(d), 3)
        self.assertIn("prog arg\n in dir ", self.headers())
        self.assertIn("(timeout 10 secs)", self.headers())
        self.assertIn("  A=1\n", self.headers())
        self.assertIn("elapsedTime=1.500000", self.headers())
        self.assertIn(("stdout", "hello\n"), self.updates)
        self.assertIn(("rc", 3), self.updates)

    def test_timeout_without_output_is_reset_by_output(self):
        proc = self.make(timeout=5)
        d = proc.start()
        self.clock.advance(4)
        proc.outReceived(b"x\n")
        self.clock.advance(4)
        self.assertNoResult(d)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d), -1)
        self.assertIn(("failure_reason", "timeout_without_output"), self.updates)
        self.assertIn("command timed out: 5 seconds without output", self.headers())
        self.assertIn("process killed by signal 9", self.headers())
        self.assertEqual(self.child.signals, ["KILL"])

    def test_max_time(self):
        proc = self.make(maxTime=3)
        d = proc.start()
        for _ in range(6):
            proc.outReceived(b"x\n")
            self.clock.advance(0.5)
        self.assertEqual(self.successResultOf(d), -1)
        self.assertIn(("failure_reason", "timeout"), self.updates)
        self.assertIn("command timed out: 3 seconds elapsed", self.headers())

    def test_sigterm_then_interrupt_signal(self):
        proc = self.make(dies_on=("INT",), sigtermTime=2, interruptSignal="INT")
        d = proc.start()
        proc.kill("command interrupted")
        self.assertEqual(self.child.signals, ["TERM"])
        self.clock.advance(2)
        self.assertEqual(self.child.signals, ["TERM", "INT"])
        self.assertEqual(self.successResultOf(d), -1)
        self.assertIn("\ncommand interrupted, attempting to kill\n", self.headers())
        self.assertNotIn("failure_reason", self.keys())

    def test_kill_that_does_not_work(self):
        proc = self.make(dies_on=())
        d = proc.start()
        proc.kill("command interrupted")
        self.clock.advance(5)
        self.failureResultOf(d, KillFailed)
        self.assertIn("SIGKILL failed to kill process", self.headers())
        self.assertIn("using fake rc=-1", self.headers())
        self.assertIn(("rc", -1), self.updates)

    def test_max_lines(self):
        proc = self.make(max_lines=3)
        d = proc.start()
        proc.outReceived(b"1\n2\n")
        proc.errReceived(b"3\n4\n")
        self.assertEqual(self.successResultOf(d), -1)
        self.assertIn(("failure_reason", "max_lines_failure"), self.updates)
        self.assertIn("command exceeds max lines: 4/3 written/allowed", self.headers())

    def test_initial_stdin_disables_pty(self):
        proc = self.make(initial_stdin="data", usePTY=True)
        proc.start()
        self.assertEqual(self.child.stdin, b"data")
        self.assertEqual(self.updates[0], ("header", "WARNING: disabling usePTY for this command"))
        self.assertIn(" writing 4 bytes to stdin\n using PTY: False\n", self.headers())
        self.child.end()

    def test_undecodable_and_split_utf8(self):
        proc = self.make()
        proc.start()
        snowman = "\u2603".encode()
        proc.outReceived(b"a\xff" + snowman[:1])
        proc.outReceived(snowman[1:] + b"\n")
        self.child.end()
        text = "".join(v for k, v in self.updates if k == "stdout")
        self.assertEqual(text, "a\\xff\u2603\n")

    def test_logfiles_followed(self):
        workdir = self.mktemp()
        os.makedirs(workdir)
        with open(os.path.join(workdir, "old.log"), "w") as f:
            f.write("before\n")
        self.clock = task.Clock()
        self.updates = []
        proc = RunProcess(
            self.clock,
            ["prog"],
            workdir,
            lambda k, v: self.updates.append((k, v)),
            logfiles={"a": "a.log", "old": {"filename": "old.log", "follow": True}},
            spawn=lambda: self.child,
        )
        self.child = FakeProcess(proc)
        proc.start()
        with open(os.path.join(workdir, "a.log"), "w") as f:
            f.write("one\n")
        with open(os.path.join(workdir, "old.log"), "a") as f:
            f.write("after\n")
        self.clock.advance(2)
        logs = [v for k, v in self.updates if k == "log"]
        self.assertIn(("a", "one\n"), logs)
        self.assertIn(("old", "after\n"), logs)
        self.assertNotIn("before", str(logs))
        with open(os.path.join(workdir, "a.log"), "a") as f:
            f.write("two\n")
        self.child.end()  # a last poll at the end
        self.assertIn(("a", "two\n"), [v for k, v in self.updates if k == "log"])


class TestRealProcesses(unittest.TestCase):
    timeout = 30

    def run_process(self, command, **kwargs):
        self.updates = []
        proc = RunProcess(
            reactor, command, self.mktemp(), lambda k, v: self.updates.append((k, v)), **kwargs
        )
        return proc, proc.start()

    def text(self, key):
        return "".join(v for k, v in self.updates if k == key)

    async def test_shell_string_env_and_stdin(self):
        _, d = self.run_process(
            "cat; echo $FOO; echo err >&2; exit 4",
            environ={"FOO": "bar", "PATH": os.environ["PATH"]},
            initial_stdin="in\n",
        )
        self.assertEqual(await d, 4)
        self.assertEqual(self.text("stdout"), "in\nbar\n")
        self.assertEqual(self.text("stderr"), "err\n")

    async def test_interrupt_kills_process_group(self):
        pidfile = os.path.abspath(self.mktemp())
        script = f"sleep 60 & echo $! > {pidfile}; echo started; wait"
        proc, d = self.run_process(["/bin/sh", "-c", script])
        for _ in range(100):
            if "started" in self.text("stdout"):
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        with open(pidfile) as f:
            grandchild = int(f.read())
        self.addCleanup(_kill_quietly, grandchild)
        proc.kill("command interrupted")
        self.assertEqual(await d, -1)
        for _ in range(100):
            try:
                os.kill(grandchild, 0)
            except ProcessLookupError:
                break
            with open(f"/proc/{grandchild}/stat") as f:
                if f.read().split()[2] == "Z":
                    break
            await task.deferLater(reactor, 0.05, lambda: None)
        else:
            self.fail("the grandchild survived the kill")

    async def test_pty(self):
        _, d = self.run_process(
            [sys.executable, "-c", "import os; print(os.isatty(1))"], usePTY=True
        )
        self.assertEqual(await d, 0)
        self.assertIn("True", self.text("stdout"))

    async def test_spawn_error(self):
        _, d = self.run_process(["/nonexistent/program"])
        rc = await d
        self.assertNotEqual(rc, 0)
        # reported by the worker itself, not by a half-started child
        self.assertIn("error spawning process", self.text("stderr"))
        self.assertIn("/nonexistent/program", self.text("stderr"))

    async def test_large_output_arrives_whole_and_in_order(self):
        code = "import sys\nfor i in range(30000): sys.stdout.write('%06d %s\\n' % (i, 'y' * 40))"
        _, d = self.run_process([sys.executable, "-c", code])
        self.assertEqual(await d, 0)
        lines = self.text("stdout").splitlines()
        self.assertEqual(lines, [f"{i:06d} {'y' * 40}" for i in range(30000)])

    async def test_child_leads_its_group_in_its_workdir_with_its_env(self):
        code = "import os; print(os.getpid() == os.getpgrp(), os.getcwd(), os.environ['X'])"
        proc, d = self.run_process(
            [os.path.basename(sys.executable), "-c", code],
            environ={"X": "42", "PATH": os.path.dirname(sys.executable)},
        )
        self.assertEqual(await d, 0)
        self.assertEqual(
            self.text("stdout").split(), ["True", os.path.realpath(proc.workdir), "42"]
        )


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
