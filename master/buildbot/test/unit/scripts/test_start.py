import io
import os
import py_compile
import sys

from twisted.trial import unittest

from buildbot.scripts import pidfile, start
from buildbot.test.unit.scripts.tacfixture import FakeMasterMixin


class TestStartWithAFakeMaster(FakeMasterMixin, unittest.TestCase):
    def test_success(self):
        self.setUpFakeMaster("ok")
        rc, out, err = self.run_cli("start", "--start-timeout=20")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "buildmaster appears to have (re)started correctly.\n")
        self.assertTrue(pidfile.is_alive(self.pid()))
        self.assertTrue(os.path.exists(os.path.join(self.basedir, "twistd.log")))

    def test_quiet_success_prints_nothing(self):
        self.setUpFakeMaster("ok")
        self.assertEqual(self.run_cli("start", "-q"), (0, "", ""))

    def test_failure_shows_the_reason(self):
        self.setUpFakeMaster("fail")
        rc, out, err = self.run_cli("start", "--start_timeout", "20")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("The buildmaster failed to start:", err)
        self.assertIn("  Configuration Errors:\n    no workers are configured\n", err)
        self.assertTrue(self.wait_gone_after_failure())

    def wait_gone_after_failure(self):
        # the fake master stops after failing; twistd removes its pid file on the way out
        import time

        deadline = time.monotonic() + 10
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.pid() is None

    def test_only_new_log_lines_count(self):
        self.setUpFakeMaster("fail")
        self.write("twistd.log", "2024-01-01 00:00:00+0000 [-] BuildMaster is running\n")
        rc, _, err = self.run_cli("start")
        self.assertEqual(rc, 1)
        self.assertIn("failed to start", err)

    def test_timeout(self):
        self.setUpFakeMaster("silent")
        rc, out, err = self.run_cli("start", "--start-timeout=1")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("logged nothing new for 1 seconds", err)
        self.assertIn("BuildMaster is running", err)

    def test_twistd_refuses_to_run(self):
        self.setUpFakeMaster("ok")
        self.write("buildbot.tac", "raise RuntimeError('broken tac')\n")
        rc, out, err = self.run_cli("start", "--start-timeout=20")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("twistd exited with status 1", err)
        self.assertIn("broken tac", err)

    def test_already_running(self):
        self.setUpFakeMaster("ok")
        self.assertEqual(self.run_cli("start", "-q")[0], 0)
        first = self.pid()
        rc, _, err = self.run_cli("start", "--start-timeout=20")
        self.assertEqual(rc, 1)
        self.assertIn(str(first), err)
        self.assertEqual(self.pid(), first)

    def test_not_a_master_directory(self):
        self.setUpFakeMaster("ok")
        os.remove(os.path.join(self.basedir, "buildbot.tac"))
        rc, _, err = self.run_cli("start")
        self.assertEqual(rc, 1)
        self.assertIn("not a buildmaster directory", err)


class TestStartOptions(unittest.TestCase):
    def options(self, *args):
        opts = start.StartOptions()
        opts.parseOptions(list(args))
        return opts

    def test_timeout_from_option_env_or_default(self):
        self.assertEqual(start.start_timeout(self.options("--start-timeout=3")), 3.0)
        self.patch(os, "environ", {"START_TIMEOUT": "7"})
        self.assertEqual(start.start_timeout(self.options()), 7.0)
        self.patch(os, "environ", {})
        self.assertEqual(start.start_timeout(self.options()), start.DEFAULT_START_TIMEOUT)

    def test_bad_timeout(self):
        from twisted.python import usage

        with self.assertRaises(usage.UsageError):
            self.options("--start-timeout=soon")

    def test_twistd_command(self):
        command = start.twistd_command()
        self.assertEqual(command[0], sys.executable)
        self.assertIn("--no_save", command)
        self.assertIn("--logfile=twistd.log", command)
        self.assertIn("--pidfile=twistd.pid", command)
        self.assertIn("--python=buildbot.tac", command)
        self.assertNotIn("--nodaemon", command)
        self.assertIn("--nodaemon", start.twistd_command(nodaemon=True))

    def test_python_flags_ask_for_oo_only_where_its_bytecode_is_compiled(self):
        root = os.path.abspath(self.mktemp())
        for pkg in ("probe_a", "probe_b"):
            os.makedirs(os.path.join(root, pkg))
            for name in ("__init__.py", "mod.py"):
                with open(os.path.join(root, pkg, name), "w") as f:
                    f.write('"""a docstring"""\n')
        sys.path.insert(0, root)
        self.addCleanup(sys.path.remove, root)
        probes = ("probe_a/mod.py", "probe_b/mod.py")
        self.assertEqual(start.python_flags(probes), [])
        py_compile.compile(os.path.join(root, "probe_a", "mod.py"), optimize=2)
        self.assertEqual(start.python_flags(probes), [])  # probe_b still lacks it
        py_compile.compile(os.path.join(root, "probe_b", "mod.py"), optimize=2)
        self.assertEqual(start.python_flags(probes), ["-OO"])
        self.assertEqual(start.python_flags(("no_such_package_here/mod.py",)), [])

    def test_twistd_command_runs_python_with_the_flags(self):
        self.patch(start, "python_flags", lambda: ["-OO"])
        self.assertEqual(start.twistd_command()[:3], [sys.executable, "-OO", "-c"])
        self.patch(start, "python_flags", lambda: [])
        self.assertEqual(start.twistd_command()[:2], [sys.executable, "-c"])

    def test_nodaemon_execs_twistd_in_the_basedir(self):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        with open(os.path.join(basedir, "buildbot.tac"), "w") as f:
            f.write("")
        self.addCleanup(os.chdir, os.getcwd())
        calls = []
        opts = self.options("--nodaemon", basedir)
        rc = start.start(opts, io.StringIO(), io.StringIO(), execv=lambda *a: calls.append(a))
        self.assertEqual(rc, 0)
        self.assertEqual(calls, [(sys.executable, start.twistd_command(nodaemon=True))])
        self.assertEqual(os.getcwd(), basedir)
