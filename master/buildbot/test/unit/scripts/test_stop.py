import io
import os

from twisted.trial import unittest

from buildbot.scripts import pidfile, stop
from buildbot.test.unit.scripts.tacfixture import FakeMasterMixin


class TestStopRestartReconfig(FakeMasterMixin, unittest.TestCase):
    def start(self, start_mode="ok", reconfig_mode="ok"):
        self.setUpFakeMaster(start_mode, reconfig_mode)
        rc, _, err = self.run_cli("start", "-q", "--start-timeout=20")
        self.assertEqual((rc, err), (0, ""))
        return self.pid()

    def test_stop(self):
        pid = self.start()
        rc, out, err = self.run_cli("stop")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, f"buildbot process {pid} is dead\n")
        self.assertFalse(pidfile.is_alive(pid))
        self.assertIsNone(self.pid())

    def test_stop_clean_uses_sigusr1(self):
        pid = self.start()
        rc, out, _ = self.run_cli("stop", "--clean")
        self.assertEqual(rc, 0)
        self.assertIn(f"buildbot process {pid} is dead", out)
        with open(os.path.join(self.basedir, "twistd.log")) as f:
            self.assertIn("stopping cleanly", f.read())

    def test_stop_no_wait(self):
        pid = self.start()
        rc, out, _ = self.run_cli("stop", "--no-wait")
        self.assertEqual((rc, out), (0, f"sent SIGTERM to process {pid}\n"))
        self.assertTrue(self.wait_gone(pid))

    def test_stop_when_not_running(self):
        self.setUpFakeMaster()
        self.assertEqual(self.run_cli("stop"), (0, "buildmaster not running\n", ""))
        self.assertEqual(self.run_cli("stop", "-q"), (0, "", ""))

    def test_stop_with_a_stale_pid_file(self):
        self.setUpFakeMaster()
        self.write("twistd.pid", "999999999")
        rc, out, _ = self.run_cli("stop")
        self.assertEqual(rc, 0)
        self.assertIn("stale pid file", out)

    def test_stop_outside_a_master_directory(self):
        self.setUpFakeMaster()
        os.remove(os.path.join(self.basedir, "buildbot.tac"))
        rc, _, err = self.run_cli("stop")
        self.assertEqual(rc, 1)
        self.assertIn("not a buildmaster directory", err)

    def test_restart(self):
        first = self.start()
        rc, out, err = self.run_cli("restart", "--start-timeout=20")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(f"buildbot process {first} is dead", out)
        self.assertIn("now restarting buildbot process..", out)
        self.assertTrue(out.endswith("buildmaster appears to have (re)started correctly.\n"))
        self.assertNotEqual(self.pid(), first)
        self.assertTrue(pidfile.is_alive(self.pid()))

    def test_restart_when_not_running_starts(self):
        self.setUpFakeMaster()
        rc, out, _ = self.run_cli("restart", "-q")
        self.assertEqual((rc, out), (0, ""))
        self.assertTrue(pidfile.is_alive(self.pid()))

    def test_reconfig_success(self):
        pid = self.start()
        for command in ("reconfig", "sighup"):
            rc, out, err = self.run_cli(command)
            self.assertEqual((rc, err), (0, ""))
            self.assertEqual(
                out,
                f"sending SIGHUP to process {pid}\n"
                "Reconfiguration appears to have completed successfully.\n",
            )

    def test_reconfig_failure_prints_the_errors(self):
        self.start(reconfig_mode="fail")
        rc, _, err = self.run_cli("reconfig", "-q")
        self.assertEqual(rc, 1)
        self.assertIn("Reconfiguration failed", err)
        self.assertIn("  Configuration Errors:\n    bad builder\n    bad worker\n", err)
        # the master still runs
        self.assertTrue(pidfile.is_alive(self.pid()))

    def test_reconfig_when_not_running(self):
        self.setUpFakeMaster()
        rc, _, err = self.run_cli("reconfig")
        self.assertEqual(rc, 1)
        self.assertIn("buildmaster not running", err)


class TestWaitForExit(unittest.TestCase):
    def test_gives_up_after_the_timeout(self):
        now = [0.0]

        def sleep(seconds):
            now[0] += seconds

        # this very process does not go away
        self.assertFalse(stop.wait_for_exit(os.getpid(), 10, lambda: now[0], sleep, 1))
        self.assertEqual(now[0], 10)

    def test_reports_that_a_process_is_still_there(self):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        with open(os.path.join(basedir, "buildbot.tac"), "w") as f:
            f.write("")
        with open(os.path.join(basedir, "twistd.pid"), "w") as f:
            f.write(str(os.getpid()))
        signals = []
        self.patch(os, "kill", lambda pid, sig: signals.append((pid, sig)))
        self.patch(stop, "wait_for_exit", lambda *a: False)
        out, err = io.StringIO(), io.StringIO()
        rc = stop.stop({"basedir": basedir}, out, err)
        self.assertEqual(rc, 1)
        self.assertIn(f"process {os.getpid()} is still running after 10 seconds", err.getvalue())
        self.assertEqual(len(signals), 1)
