import io
import os
import subprocess
import sys
from unittest import mock

from twisted.trial import unittest

import buildbot_worker
from buildbot_worker.scripts import runner


class TestRunner(unittest.TestCase):
    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
            try:
                rc = runner.run(list(argv))
            except SystemExit as e:
                rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def test_version(self):
        rc, out, _ = self.run_cli("--version")
        self.assertEqual(rc, 0)
        self.assertIn(f"Buildbot-worker version: {buildbot_worker.version}", out)
        self.assertIn("Twisted version:", out)

    def test_no_command(self):
        rc, _, err = self.run_cli()
        self.assertEqual(rc, 1)
        self.assertIn("must specify a command", err)

    def test_subcommands_not_available_yet(self):
        for name in ("create-worker", "start", "stop", "restart"):
            rc, _, err = self.run_cli(name, "basedir")
            self.assertEqual(rc, 2)
            self.assertIn(f"'{name}' command is not available yet", err)

    def test_console_script_installed(self):
        exe = os.path.join(os.path.dirname(sys.executable), "buildbot-worker")
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0)
        self.assertTrue(proc.stdout.startswith("Buildbot-worker version: "))

    def test_worker_package_imports_nothing_from_the_master(self):
        code = "import sys, buildbot_worker.scripts.runner; print('buildbot' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(out.stdout.strip(), "False")
