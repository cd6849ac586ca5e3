import os
from unittest import mock

from twisted.python import usage
from twisted.trial import unittest

from buildbot.scripts import base


class TestLoadOptionsFile(unittest.TestCase):
    def setUp(self):
        self.top = os.path.abspath(self.mktemp())
        self.here = os.path.join(self.top, "a", "b")
        os.makedirs(self.here)
        self.home = os.path.join(os.path.abspath(self.mktemp()), ".buildbot")
        os.makedirs(self.home)

    def write(self, dotdir, text, name="options"):
        os.makedirs(dotdir, exist_ok=True)
        with open(os.path.join(dotdir, name), "w") as f:
            f.write(text)

    def load(self, **kwargs):
        return base.load_options_file(here=self.here, home=self.home, **kwargs)

    def test_nothing_found(self):
        self.assertEqual(self.load(), {})

    def test_home(self):
        self.write(self.home, "master = 'localhost:9989'\n_private = 1\nimport os\n")
        found = self.load()
        self.assertEqual(found["master"], "localhost:9989")
        self.assertNotIn("_private", found)
        self.assertNotIn("__builtins__", found)

    def test_nearest_directory_wins_over_parents_and_home(self):
        self.write(self.home, "master = 'home'\n")
        self.write(os.path.join(self.top, ".buildbot"), "master = 'top'\n")
        self.assertEqual(self.load()["master"], "top")
        self.write(os.path.join(self.here, ".buildbot"), "master = 'here'\n")
        self.assertEqual(self.load()["master"], "here")

    def test_the_first_file_found_is_the_only_one_read(self):
        self.write(self.home, "master = 'home'\nusername = 'me'\n")
        self.write(os.path.join(self.here, ".buildbot"), "master = 'here'\n")
        self.assertEqual(self.load(), {"master": "here"})

    def test_other_file_name(self):
        self.write(self.home, "x = 1\n", name="try")
        self.assertEqual(self.load(filename="try"), {"x": 1})
        self.assertEqual(self.load(), {})

    def test_directory_owned_by_someone_else_is_skipped(self):
        self.write(os.path.join(self.here, ".buildbot"), "master = 'here'\n")
        self.write(self.home, "master = 'home'\n")
        self.patch(os, "getuid", lambda: os.stat(self.here).st_uid + 1)
        self.assertEqual(self.load(), {})

    def test_broken_file_is_a_usage_error(self):
        self.write(self.home, "master = \n")
        with self.assertRaises(usage.UsageError) as cm:
            self.load()
        self.assertIn(os.path.join(self.home, "options"), str(cm.exception))


class ExampleOptions(base.SubcommandOptions):
    optParameters = [
        ["master", "m", None, "where the master is"],
        ["who", "W", "nobody", "who made the change"],
    ]
    buildbotOptions = [("master", "master"), ("username", "who")]


class TestSubcommandOptions(unittest.TestCase):
    def parse(self, found, *args):
        with mock.patch.object(base, "load_options_file", return_value=found):
            opts = ExampleOptions()
        opts.parseOptions(list(args))
        return opts

    def test_defaults_from_the_file(self):
        opts = self.parse({"master": "h:1", "username": "me", "other": 3})
        self.assertEqual((opts["master"], opts["who"]), ("h:1", "me"))
        self.assertNotIn("other", opts)

    def test_command_line_wins(self):
        opts = self.parse({"master": "h:1", "username": "me"}, "-m", "x:2", "--who=you")
        self.assertEqual((opts["master"], opts["who"]), ("x:2", "you"))

    def test_no_file(self):
        opts = self.parse({})
        self.assertEqual((opts["master"], opts["who"]), (None, "nobody"))

    def test_not_read_without_mappings(self):
        with mock.patch.object(base, "load_options_file") as load:
            base.BasedirOptions()
        load.assert_not_called()
