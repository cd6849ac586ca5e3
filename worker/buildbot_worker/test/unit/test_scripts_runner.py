import io
import os
import subprocess
import sys
from unittest import mock

from twisted.internet import endpoints
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

    def test_create_worker(self):
        basedir = os.path.abspath(self.mktemp())
        rc, out, _ = self.run_cli(
            "create-worker", "--umask=0o22", "--maxretries=3", basedir, "[::1]:1234", "w1", "pw"
        )
        self.assertEqual(rc, 0, out)
        tac = os.path.join(basedir, "buildbot.tac")
        self.assertEqual(os.stat(tac).st_mode & 0o777, 0o600)
        for name in ("admin", "host"):
            self.assertTrue(os.path.isfile(os.path.join(basedir, "info", name)))
        with open(tac) as f:
            namespace = {"__file__": tac}
            exec(compile(f.read(), tac, "exec"), namespace)
        worker = namespace["s"]
        self.assertEqual(namespace["buildmaster_host"], "::1")
        self.assertEqual(namespace["port"], 1234)
        self.assertEqual(namespace["umask"], 0o22)
        self.assertEqual(worker.connector.max_retries, 3)
        self.assertEqual(worker.connector.keepalive, 600)
        self.assertIsInstance(worker.endpoint, endpoints.HostnameEndpoint)
        self.assertEqual(worker.endpoint._hostText, "::1")
        self.assertEqual(worker.basedir, basedir)

    def test_create_worker_refuses_existing_dir_and_urls(self):
        basedir = self.mktemp()
        os.makedirs(basedir)
        rc, out, _ = self.run_cli("create-worker", basedir, "localhost", "w1", "pw")
        self.assertEqual(rc, 1)
        self.assertIn("--force", out)
        rc, _, err = self.run_cli("create-worker", "-f", basedir, "http://x:1", "w1", "pw")
        self.assertEqual(rc, 1)
        self.assertIn("URL", err)
        rc, _, _ = self.run_cli("create-worker", "-f", "-q", basedir, "localhost", "w1", "pw")
        self.assertEqual(rc, 0)
        rc, out, _ = self.run_cli("create-worker", "-f", basedir, "localhost", "w1", "other")
        self.assertIn("buildbot.tac.new", out)
        self.assertTrue(os.path.exists(os.path.join(basedir, "buildbot.tac.new")))

    def test_start_and_stop_need_a_worker_dir(self):
        rc, _, err = self.run_cli("start", self.mktemp())
        self.assertEqual(rc, 1)
        self.assertIn("invalid worker directory", err)
        rc, out, _ = self.run_cli("stop", self.mktemp())
        self.assertEqual((rc, out.strip()), (0, "worker not running"))

    def test_console_script_installed(self):
        exe = os.path.join(os.path.dirname(sys.executable), "buildbot-worker")
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0)
        self.assertTrue(proc.stdout.startswith("Buildbot-worker version: "))

    def test_worker_package_imports_nothing_from_the_master(self):
        code = "import sys, buildbot_worker.scripts.runner; print('buildbot' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(out.stdout.strip(), "False")
