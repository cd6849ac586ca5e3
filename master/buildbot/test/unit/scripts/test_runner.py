import io
import os
import subprocess
import sys
from unittest import mock

from twisted.trial import unittest

import buildbot
from buildbot.scripts import runner


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
        self.assertIn(f"Buildbot version: {buildbot.version}", out)
        self.assertIn("Twisted version:", out)

    def test_no_command_is_a_usage_error(self):
        rc, _, err = self.run_cli()
        self.assertEqual(rc, 1)
        self.assertIn("must specify a command", err)
        self.assertIn("create-master", err)

    def test_unknown_command(self):
        rc, _, err = self.run_cli("frobnicate")
        self.assertEqual(rc, 1)
        self.assertIn("frobnicate", err)

    def test_every_subcommand_says_it_is_not_available(self):
        for name in set(runner.SUBCOMMANDS) - set(runner.IMPLEMENTED):
            rc, _, err = self.run_cli(name, "--some-option", "dir")
            self.assertEqual(rc, 2, name)
            self.assertIn(f"'{name}' command is not available yet", err)

    def test_console_script_installed(self):
        exe = os.path.join(os.path.dirname(sys.executable), "buildbot")
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0)
        self.assertTrue(proc.stdout.startswith("Buildbot version: "))
