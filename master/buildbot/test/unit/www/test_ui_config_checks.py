"""Config errors for the UI keys of c['www'] (avatar_methods, versions, ui_default_config,
theme, custom_templates_dir, default_page, plugins), each naming its key."""

from __future__ import annotations

import importlib.metadata
import os

from twisted.trial import unittest

from buildbot.config import www as www_checks
from buildbot.config.errors import ConfigErrors
from buildbot.config.master import MasterConfig
from buildbot.test.unit.config.configfakes import minimal_config
from buildbot.www.avatar import AvatarGitHub, AvatarGravatar


class Checks(unittest.TestCase):
    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(self.basedir, "templates"))
        self.patch(www_checks, "installed_plugins", lambda: {"myview"})

    def load(self, **www):
        return MasterConfig.loadFromDict(
            minimal_config(www=www), os.path.join(self.basedir, "master.cfg")
        )

    def errors(self, **www):
        with self.assertRaises(ConfigErrors) as cm:
            self.load(**www)
        return cm.exception.errors

    def assertError(self, fragment, **www):
        errors = self.errors(**www)
        self.assertEqual(len(errors), 1, errors)
        self.assertIn(fragment, errors[0])

    def test_good_values(self):
        good = {
            "avatar_methods": [AvatarGitHub(), AvatarGravatar()],
            "versions": [("tool", "1.0"), ["other", "2"]],
            "ui_default_config": {"Builders.buildFetchLimit": 500},
            "theme": {"bb-accent": "#123", "--bb-font": "'Inter', sans-serif"},
            "custom_templates_dir": "templates",
            "default_page": "builders",
            "plugins": {"myview": {}, "waterfall_view": {}, "grid_view": {}},
        }
        cfg = self.load(**good)
        self.assertEqual(cfg.www["theme"], good["theme"])
        self.load(avatar_methods=AvatarGravatar())
        self.load(custom_templates_dir=os.path.join(self.basedir, "templates"))

    def test_avatar_methods(self):
        self.assertError("c['www']['avatar_methods']", avatar_methods="gravatar")
        self.assertError("c['www']['avatar_methods']", avatar_methods=[AvatarGravatar(), 1])

    def test_versions(self):
        for bad in (["x"], [("a",)], [("a", 1)], ("a", "b"), [("a", "b", "c")]):
            self.assertError("c['www']['versions']", versions=bad)

    def test_ui_default_config(self):
        self.assertError("c['www']['ui_default_config']", ui_default_config=[1])

    def test_theme(self):
        self.assertError("c['www']['theme'] must be a dictionary", theme="dark")
        self.assertError("'bad name' is not a valid CSS variable name", theme={"bad name": "x"})
        self.assertError("c['www']['theme']['bb-x']", theme={"bb-x": "red;}</style>"})
        self.assertError("c['www']['theme']['bb-x']", theme={"bb-x": 3})
        self.assertError("c['www']['theme']", theme={3: "red"})

    def test_custom_templates_dir(self):
        self.assertError("directory 'nosuch' does not exist", custom_templates_dir="nosuch")
        self.assertError(
            "c['www']['custom_templates_dir'] must be a string", custom_templates_dir=1
        )

    def test_default_page(self):
        self.assertError("c['www']['default_page']", default_page=3)

    def test_plugins(self):
        self.assertError("c['www']['plugins'] must be a dictionary", plugins=["myview"])
        self.assertError("could not find plugin 'badges'; is it installed?", plugins={"badges": {}})

    def test_several_errors_reported(self):
        errors = self.errors(default_page=1, theme="x", versions=1)
        self.assertEqual(len(errors), 3)

    def test_theme_css(self):
        self.assertEqual(www_checks.theme_css(None), "")
        self.assertEqual(www_checks.theme_css({"a": "1px", "b c": "2"}), ":root{--a: 1px;}")


class RealPluginList(unittest.TestCase):
    def test_installed_plugins_reads_entry_points(self):
        names = {ep.name for ep in importlib.metadata.entry_points(group="buildbot.www")}
        self.assertEqual(www_checks.installed_plugins(), names)
