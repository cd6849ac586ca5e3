from __future__ import annotations

import io
import os

from twisted.trial import unittest

from buildbot.scripts import checkconfig

GOOD = """\
from buildbot.config.builder import BuilderConfig
from buildbot.process.factory import BuildFactory
from buildbot.test.unit.config.configfakes import FakeScheduler, FakeWorker

c = BuildmasterConfig = {}
c['workers'] = [FakeWorker('w1')]
c['protocols'] = {'pb': {'port': 9989}}
c['builders'] = [BuilderConfig(name='b1', workernames=['w1'], factory=BuildFactory())]
c['schedulers'] = [FakeScheduler('s1', ['b1'])]
"""

THREE_MISTAKES = GOOD + (
    "c['title'] = 42\n"
    "c['colour'] = 'red'\n"
    "c['builders'] = [BuilderConfig(name='b1', workernames=['w9'], factory=BuildFactory())]\n"
)


class TestCheckConfig(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)

    def write(self, text: str, name: str = "master.cfg") -> str:
        path = os.path.join(self.basedir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_check(self, **config):
        out, err = io.StringIO(), io.StringIO()
        rc = checkconfig.checkconfig(config, out=out, err=err)
        return rc, out.getvalue(), err.getvalue()

    def test_good_config_in_basedir(self):
        self.write(GOOD)
        rc, out, err = self.run_check(basedir=self.basedir)
        self.assertEqual((rc, out, err), (0, "Config file is good!\n", ""))

    def test_directory_argument(self):
        self.write(GOOD)
        rc, out, _ = self.run_check(configFile=self.basedir)
        self.assertEqual(rc, 0)
        self.assertIn("good", out)

    def test_file_argument(self):
        path = self.write(GOOD, name="other.cfg")
        self.assertEqual(checkconfig.locate({"configFile": path}), (self.basedir, "other.cfg"))
        self.assertEqual(self.run_check(configFile=path)[0], 0)

    def test_locate_defaults(self):
        self.assertEqual(checkconfig.locate({}), (".", "master.cfg"))

    def test_three_mistakes_printed_and_exit_1(self):
        self.write(THREE_MISTAKES)
        rc, out, err = self.run_check(basedir=self.basedir)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(
            err.splitlines(),
            [
                "Configuration Errors:",
                "  Unknown BuildmasterConfig key colour",
                "  c['title'] must be a string (got int)",
                "  builder 'b1' uses unknown workers 'w9'",
            ],
        )

    def test_quiet(self):
        self.write(THREE_MISTAKES)
        self.assertEqual(self.run_check(basedir=self.basedir, quiet=True), (1, "", ""))
        self.write(GOOD)
        self.assertEqual(self.run_check(basedir=self.basedir, quiet=True), (0, "", ""))

    def test_missing_file(self):
        rc, _, err = self.run_check(basedir=self.basedir)
        self.assertEqual(rc, 1)
        self.assertIn("does not exist", err)

    def test_raising_config(self):
        self.write("x = 1\nraise ValueError('nope')\n")
        rc, _, err = self.run_check(basedir=self.basedir)
        self.assertEqual(rc, 1)
        self.assertIn("master.cfg, line 2: ValueError: nope", err)

    def test_options(self):
        opts = checkconfig.CheckConfigOptions()
        opts.parseOptions(["-q", "some.cfg"])
        self.assertEqual(opts["configFile"], "some.cfg")
        self.assertTrue(opts["quiet"])
        opts = checkconfig.CheckConfigOptions()
        opts.parseOptions([])
        self.assertNotIn("configFile", opts)
