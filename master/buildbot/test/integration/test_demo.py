"""`make demo`'s script, run twice and stopped, in a directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys

from twisted.trial import unittest

import buildbot

# the repository root: master/buildbot/__init__.py is three levels below it
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(buildbot.__file__))))
SCRIPT = os.path.join(ROOT, "pkg", "make_demo.py")


class TestMakeDemo(unittest.TestCase):
    timeout = 400

    def setUp(self):
        if not os.path.exists(SCRIPT):
            raise unittest.SkipTest(f"{SCRIPT} is not here: not a source checkout")
        self.demo = os.path.abspath(self.mktemp())
        self.env = dict(os.environ, BUILDBOT_DEMO_DIR=self.demo)
        self.addCleanup(self.run_script, "--stop")

    def run_script(self, *args):
        return subprocess.run(
            [sys.executable, SCRIPT, *args],
            capture_output=True, text=True, timeout=300, env=self.env,
        )  # fmt: skip

    def test_demo_builds_green_twice_then_stops(self):
        for number in (1, 2):
            proc = self.run_script()
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn(f"build {number} of builder 'demo': build successful", proc.stdout)
        self.assertTrue(os.path.isdir(os.path.join(self.demo, "project", ".git")))
        proc = self.run_script("--stop")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for basedir in ("master", "worker"):
            self.assertFalse(os.path.exists(os.path.join(self.demo, basedir, "twistd.pid")))
