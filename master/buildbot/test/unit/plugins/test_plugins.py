import os
import subprocess
import sys
import textwrap

from twisted.trial import unittest

from buildbot import plugins
from buildbot.errors import PluginDBError
from buildbot.plugins import db


class FakeDistributionMixin:
    """Installs a throw-away distribution with entry points on sys.path."""

    def install_fake_dist(self, name, entry_points, modules):
        root = self.mktemp()
        dist_info = os.path.join(root, f"{name}-1.0.dist-info")
        os.makedirs(dist_info)
        with open(os.path.join(dist_info, "METADATA"), "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        with open(os.path.join(dist_info, "entry_points.txt"), "w") as f:
            f.write(textwrap.dedent(entry_points))
        for modname, source in modules.items():
            with open(os.path.join(root, f"{modname}.py"), "w") as f:
                f.write(textwrap.dedent(source))
        sys.path.insert(0, root)
        db.reset_cache()

        def cleanup():
            sys.path.remove(root)
            for modname in modules:
                sys.modules.pop(modname, None)
            db.reset_cache()

        self.addCleanup(cleanup)


class TestNamespaces(FakeDistributionMixin, unittest.TestCase):
    def test_all_namespaces_exported(self):
        self.assertEqual(
            sorted(plugins.__all__),
            sorted(
                [
                    "worker",
                    "changes",
                    "schedulers",
                    "steps",
                    "reporters",
                    "util",
                    "secrets",
                    "webhooks",
                ]
            ),
        )
        for name in plugins.__all__:
            self.assertIsInstance(getattr(plugins, name), db.Namespace)

    def test_star_import_in_a_config_file(self):
        namespace = {}
        exec("from buildbot.plugins import *\nresult = util.FAILURE", namespace)
        self.assertEqual(namespace["result"], 2)
        self.assertIs(namespace["steps"], plugins.steps)

    def test_core_names_resolve(self):
        from buildbot.process import results

        self.assertEqual(plugins.util.SUCCESS, results.SUCCESS)
        self.assertIs(plugins.util.Results, results.Results)
        self.assertIn("CANCELLED", plugins.util.names)
        self.assertIn("FAILURE", dir(plugins.util))

    def test_unknown_name_names_namespace_and_name(self):
        with self.assertRaises(PluginDBError) as cm:
            plugins.steps.NoSuchStep  # noqa: B018
        self.assertIn("buildbot.plugins.steps", str(cm.exception))
        self.assertIn("'NoSuchStep'", str(cm.exception))
        self.assertFalse(hasattr(plugins.util, "NoSuchThing"))

    def test_third_party_plugin_and_dotted_names(self):
        self.install_fake_dist(
            "fake_bb_plugin",
            """
            [buildbot.steps]
            MyStep = fake_bb_steps:MyStep
            [buildbot.util]
            svn.split_file = fake_bb_steps:split_file
            """,
            {
                "fake_bb_steps": """
                class MyStep:
                    pass
                def split_file(path):
                    return path.split('/')
                """
            },
        )
        self.assertEqual(plugins.steps.MyStep.__name__, "MyStep")
        self.assertEqual(plugins.util.svn.split_file("a/b"), ["a", "b"])
        self.assertIn("svn", plugins.util.names)
        self.assertEqual(repr(plugins.util.svn), "<buildbot.plugins namespace 'util.svn'>")
        with self.assertRaises(PluginDBError) as cm:
            plugins.util.svn.nothing  # noqa: B018
        self.assertIn("buildbot.plugins.util.svn", str(cm.exception))

    def test_plugin_that_fails_to_import(self):
        self.install_fake_dist(
            "broken_bb_plugin",
            """
            [buildbot.reporters]
            Broken = broken_bb_mod:Broken
            """,
            {"broken_bb_mod": "raise RuntimeError('boom at import')\n"},
        )
        with self.assertRaises(PluginDBError) as cm:
            plugins.reporters.Broken  # noqa: B018
        self.assertIn("Broken", str(cm.exception))
        self.assertIn("boom at import", str(cm.exception))

    def test_conflicting_names_are_reported(self):
        modules = {"dup_bb_mod": "class A: pass\nclass B: pass\n"}
        self.install_fake_dist("dup_one", "[buildbot.worker]\nDup = dup_bb_mod:A\n", modules)
        self.install_fake_dist("dup_two", "[buildbot.worker]\nDup = dup_bb_mod:B\n", {})
        with self.assertRaises(PluginDBError) as cm:
            plugins.worker.Dup  # noqa: B018
        self.assertIn("more than once", str(cm.exception))
        self.assertIn("dup_bb_mod:A", str(cm.exception))
        self.assertIn("dup_bb_mod:B", str(cm.exception))


class TestLaziness(unittest.TestCase):
    def test_import_loads_no_plugin_module(self):
        code = (
            "import sys, buildbot.plugins\n"
            "from buildbot.plugins import util, steps\n"
            "loaded = [m for m in sys.modules if m.startswith('buildbot.')"
            " and not m.startswith(('buildbot.plugins', 'buildbot.errors'))]\n"
            "print(sorted(loaded))\n"
            "util.SUCCESS\n"
            "print('buildbot.process.results' in sys.modules)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        self.assertEqual(out, ["[]", "True"])
