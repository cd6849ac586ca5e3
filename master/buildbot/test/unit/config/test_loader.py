from __future__ import annotations

import os
import sys
import textwrap

from twisted.trial import unittest

from buildbot.config.errors import ConfigErrors
from buildbot.config.master import FileLoader, MasterConfig

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


class TestFileLoader(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.filename = os.path.join(self.basedir, "master.cfg")
        self.path_before = sys.path[:]

    def write(self, text: str, name: str = "master.cfg") -> None:
        with open(os.path.join(self.basedir, name), "w") as f:
            f.write(textwrap.dedent(text))

    def load(self) -> MasterConfig:
        return FileLoader(self.basedir, "master.cfg").loadConfig()

    def errors(self) -> list[str]:
        with self.assertRaises(ConfigErrors) as cm:
            self.load()
        self.assertEqual(sys.path, self.path_before)
        return cm.exception.errors

    def test_good_file(self):
        self.write(GOOD + "c['title'] = basedir\nc['titleURL'] = __file__\n")
        cfg = self.load()
        self.assertIsInstance(cfg, MasterConfig)
        self.assertEqual(cfg.title, self.basedir)
        self.assertEqual(cfg.titleURL, self.filename + "/")
        self.assertEqual(sys.path, self.path_before)

    def test_basedir_is_on_sys_path_while_running_only(self):
        modname = "cfg_helper_" + str(id(self))
        self.addCleanup(sys.modules.pop, modname, None)
        self.write("TITLE = 'from helper'\n", name=modname + ".py")
        self.write(
            GOOD
            + f"import sys\nimport {modname}\n"
            + f"c['title'] = {modname}.TITLE\n"
            + "c['properties'] = {'on_path': basedir in sys.path}\n"
        )
        cfg = self.load()
        self.assertEqual(cfg.title, "from helper")
        self.assertEqual(cfg.properties, {"on_path": True})
        self.assertEqual(sys.path, self.path_before)
        self.assertNotIn(self.basedir, sys.path)

    def test_three_mistakes_give_three_errors(self):
        self.write(
            GOOD
            + "c['title'] = 42\nc['colour'] = 'red'\n"
            + "c['schedulers'] = [FakeScheduler('s1', ['b1', 'b9'])]\n"
        )
        errors = self.errors()
        self.assertEqual(len(errors), 3, errors)
        self.assertIn("c['title'] must be a string (got int)", errors)
        self.assertIn("Unknown BuildmasterConfig key colour", errors)
        self.assertIn("Unknown builder 'b9' in scheduler 's1'", errors)

    def test_constructor_errors_collected_with_the_others(self):
        self.write(
            GOOD.replace("name='b1', ", "name='b1', tags='x', ") + "c['changeHorizon'] = 'x'\n"
        )
        errors = self.errors()
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("builder 'b1': tags must be a list", errors)

    def test_raising_file_names_file_and_line(self):
        self.write("x = 1\n\ndef f():\n    raise ValueError('boom')\n\nf()\n")
        [msg] = self.errors()
        self.assertIn(f"{self.filename}, line 4", msg)
        self.assertIn("ValueError: boom", msg)

    def test_raising_in_imported_module_names_the_import_line(self):
        modname = "cfg_broken_" + str(id(self))
        self.addCleanup(sys.modules.pop, modname, None)
        self.write("raise KeyError('inside')\n", name=modname + ".py")
        self.write(f"x = 1\nimport {modname}\n")
        [msg] = self.errors()
        self.assertIn(f"{self.filename}, line 2", msg)
        self.assertIn(f"raised in {os.path.join(self.basedir, modname + '.py')}, line 1", msg)
        self.assertIn("KeyError", msg)

    def test_syntax_error_names_file_and_line(self):
        self.write("x = 1\ny = 2\nif x\n    pass\n")
        [msg] = self.errors()
        self.assertIn("SyntaxError", msg)
        self.assertIn(f"{self.filename}, line 3", msg)

    def test_errors_before_a_raise_are_kept(self):
        self.write(
            "from buildbot.config.builder import BuilderConfig\n"
            "BuilderConfig(name='b', workernames=['w'])\n"
            "raise RuntimeError('late')\n"
        )
        errors = self.errors()
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("builder 'b' has no factory", errors)
        self.assertIn("RuntimeError: late", errors[1])

    def test_sys_exit_in_config(self):
        self.write("import sys\nsys.exit(3)\n")
        [msg] = self.errors()
        self.assertIn("SystemExit", msg)

    def test_missing_buildmasterconfig(self):
        self.write("c = {}\n")
        self.assertEqual(
            self.errors(),
            [f"Configuration file '{self.filename}' does not define 'BuildmasterConfig'"],
        )

    def test_buildmasterconfig_not_a_dict(self):
        self.write("BuildmasterConfig = [1]\n")
        [msg] = self.errors()
        self.assertIn("must be a dict, not list", msg)

    def test_missing_file(self):
        [msg] = self.errors()
        self.assertIn("does not exist", msg)
        self.assertIn(self.filename, msg)

    def test_missing_basedir(self):
        with self.assertRaises(ConfigErrors) as cm:
            FileLoader(os.path.join(self.basedir, "nope"), "master.cfg").loadConfig()
        self.assertIn("basedir", cm.exception.errors[0])

    def test_compare(self):
        self.assertEqual(FileLoader("a", "b"), FileLoader("a", "b"))
        self.assertNotEqual(FileLoader("a", "b"), FileLoader("a", "c"))
