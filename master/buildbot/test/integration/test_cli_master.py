"""The `buildbot` command driving a real master, as a user would: create-master,
checkconfig, start, the REST API, reconfig, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from twisted.trial import unittest

from buildbot.test.util.processes import free_port

BUILDBOT = os.path.join(os.path.dirname(sys.executable), "buildbot")

CONFIG = """\
from buildbot.plugins import schedulers, util, worker

c = BuildmasterConfig = {{}}
c['title'] = 'cli test'
c['workers'] = [worker.Worker('w1', 'pass')]
c['protocols'] = {{'pb': {{'port': 'tcp:0:interface=127.0.0.1'}}}}
c['builders'] = [
{builders}
]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames={names!r})]
c['www'] = {{'port': 'tcp:{port}:interface=127.0.0.1'}}
"""


class TestCommandLine(unittest.TestCase):
    timeout = 120

    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        self.port = free_port()
        self.addCleanup(self.kill_leftover)

    def kill_leftover(self):
        try:
            with open(os.path.join(self.basedir, "twistd.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def buildbot(self, *args):
        proc = subprocess.run(
            [BUILDBOT, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=os.path.dirname(self.basedir),
        )
        return proc.returncode, proc.stdout, proc.stderr

    def write_config(self, names, extra=""):
        builders = "\n".join(
            f"    util.BuilderConfig(name={n!r}, workernames=['w1'], factory=util.BuildFactory()),"
            for n in names
        )
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(CONFIG.format(builders=builders, names=names, port=self.port) + extra)

    def get(self, path):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2/{path}", headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def builder_names(self):
        return sorted(b["name"] for b in self.get("builders")["builders"] if b["masterids"])

    def test_a_master_from_creation_to_stop(self):
        rc, out, err = self.buildbot("create-master", self.basedir)
        self.assertEqual((rc, err), (0, ""), out)
        for name in ("buildbot.tac", "master.cfg.sample", "state.sqlite"):
            self.assertTrue(os.path.exists(os.path.join(self.basedir, name)), name)

        self.write_config(["lint", "test"])
        self.assertEqual(self.buildbot("checkconfig", self.basedir)[0], 0)

        rc, out, err = self.buildbot("start", self.basedir)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("appears to have (re)started correctly", out)
        self.assertEqual(self.builder_names(), ["lint", "test"])
        self.assertEqual(self.get("forceschedulers/force")["forceschedulers"][0]["name"], "force")
        masters = self.get("masters")["masters"]
        self.assertEqual([m["active"] for m in masters], [True])

        # a reconfig that adds a builder
        self.write_config(["lint", "test", "docs"])
        rc, out, err = self.buildbot("reconfig", self.basedir)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(self.builder_names(), ["docs", "lint", "test"])

        # a broken one is refused with its errors, and changes nothing
        self.write_config(["lint"], extra="c['title'] = 7\nc['bogus'] = 1\n")
        rc, out, err = self.buildbot("reconfig", self.basedir)
        self.assertEqual(rc, 1)
        self.assertIn("c['title'] must be a string", out + err)
        self.assertIn("Unknown BuildmasterConfig key bogus", out + err)
        self.assertEqual(self.builder_names(), ["docs", "lint", "test"])

        rc, out, err = self.buildbot("stop", self.basedir)
        self.assertEqual(rc, 0, out + err)
        self.assertFalse(os.path.exists(os.path.join(self.basedir, "twistd.pid")))
        with self.assertRaises(urllib.error.URLError):
            self.get("builders")

    def test_sendchange_to_a_running_master(self):
        self.assertEqual(self.buildbot("create-master", "-q", self.basedir)[0], 0)
        pb_port = free_port()
        self.write_config(
            ["lint"],
            extra=(
                "from buildbot.plugins import changes\n"
                f"c['protocols'] = {{'pb': {{'port': 'tcp:{pb_port}:interface=127.0.0.1'}}}}\n"
                "c['change_source'] = [changes.PBChangeSource()]\n"
            ),
        )
        rc, out, err = self.buildbot("start", self.basedir)
        self.assertEqual(rc, 0, out + err)
        rc, out, err = self.buildbot(
            "sendchange", "-m", f"127.0.0.1:{pb_port}", "-W", "dev <dev@x>", "-b", "main",
            "-r", "abc123", "-c", "fix the frobnicator", "-p", "ticket:42", "src/a.c",
        )  # fmt: skip
        self.assertEqual(rc, 0, out + err)
        self.assertIn("change sent successfully", out)
        [change] = self.get("changes")["changes"]
        self.assertEqual(change["author"], "dev <dev@x>")
        self.assertEqual((change["branch"], change["revision"]), ("main", "abc123"))
        self.assertEqual(change["files"], ["src/a.c"])
        self.assertEqual(change["properties"], {"ticket": ["42", "Change"]})
        rc, out, err = self.buildbot(
            "sendchange", "-m", f"127.0.0.1:{pb_port}", "-W", "x", "-a", "change:wrong"
        )
        self.assertEqual(rc, 1)
        self.assertIn("refused the login", err)
        self.assertEqual(self.buildbot("stop", self.basedir)[0], 0)

    def test_checkconfig_reports_three_mistakes(self):
        os.makedirs(self.basedir)
        self.write_config(
            ["lint"],
            extra=(
                "c['title'] = 42\n"
                "c['builders'].append(util.BuilderConfig(name='x', workernames=['nobody'],"
                " factory=util.BuildFactory()))\n"
                "c['colapseRequests'] = True\n"
            ),
        )
        rc, out, err = self.buildbot("checkconfig", self.basedir)
        self.assertEqual(rc, 1)
        self.assertIn("c['title'] must be a string", err)
        self.assertIn("builder 'x' uses unknown workers 'nobody'", err)
        self.assertIn("Unknown BuildmasterConfig key colapseRequests", err)

    def test_start_refuses_a_broken_config_and_says_why(self):
        self.assertEqual(self.buildbot("create-master", "-q", self.basedir)[0], 0)
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write("BuildmasterConfig = {'title': 1}\nraise ValueError('oops')\n")
        rc, out, err = self.buildbot("start", self.basedir)
        self.assertEqual(rc, 1)
        self.assertIn("master.cfg, line 2: ValueError: oops", err)
        self.assertIn("failed to start", err)
