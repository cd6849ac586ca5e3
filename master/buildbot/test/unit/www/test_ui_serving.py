"""Serving the web UI: the index page rendered with the config, theme and user; the
UI's static files; plugins; `/config`; the page shown when no UI is installed; and
the `Application` a UI distribution exposes."""

from __future__ import annotations

import base64
import importlib.metadata
import itertools
import json
import os
import re
import sys
from types import SimpleNamespace

from twisted.python import log
from twisted.trial import unittest
from twisted.web import static

from buildbot.test.util import db
from buildbot.test.util.www import URL, WwwMixin
from buildbot.www import auth, index, plugin
from buildbot.www.config import to_json

TEMPLATE = """<!doctype html>
<html><head>
<script>window.buildbotFrontendConfig = {{ configjson }};</script>
<style id="bb-theme">{{ theme_css }}</style>
</head><body>{{ "<b>escaped</b>" }}</body></html>
"""

_counter = itertools.count()


def make_ui_package(testcase, files: dict[str, str], name: str | None = None) -> str:
    """A package `<name>` in a temporary folder on sys.path exposing `ep`, with
    `files` (relative path -> text) in its static folder; its module name."""
    name = name or f"bbtest_ui_{os.getpid()}_{next(_counter)}"
    top = os.path.abspath(testcase.mktemp())
    pkg = os.path.join(top, name)
    os.makedirs(os.path.join(pkg, "static"))
    with open(os.path.join(pkg, "__init__.py"), "w") as f:
        f.write(
            f"from buildbot.www.plugin import Application\nep = Application(__name__, {name!r})\n"
        )
    for rel, text in files.items():
        path = os.path.join(pkg, "static", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    sys.path.insert(0, top)
    testcase.addCleanup(sys.path.remove, top)
    testcase.addCleanup(sys.modules.pop, name, None)
    return name


def use_plugins(testcase, **modules: str) -> None:
    """Make the `buildbot.www` entry points be exactly `name=module` (module:ep)."""
    eps = {
        name: importlib.metadata.EntryPoint(name=name, value=f"{mod}:ep", group="buildbot.www")
        for name, mod in modules.items()
    }
    testcase.patch(plugin, "find_plugins", lambda: dict(eps))


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def page_config(html: str) -> dict:
    start = html.index("window.buildbotFrontendConfig = ") + len("window.buildbotFrontendConfig = ")
    end = html.index(";</script>", start)
    return json.loads(html[start:end])


class UiMixin(WwwMixin, db.SQLiteDBMixin):
    ui_files = {
        "index.html": TEMPLATE,
        "assets/app.js": "console.log('app');\n",
        "assets/style.css": "body{}\n",
    }
    plugin_files = {"view.js": "// the plugin\n"}

    async def setUp(self):
        self.base_module = make_ui_package(self, self.ui_files)
        self.plugin_module = make_ui_package(self, self.plugin_files)
        use_plugins(self, base=self.base_module, myview=self.plugin_module)
        await super().setUp()

    async def page(self, path=""):
        return await self.request("GET", path)

    def reconfig_full(self, **kwargs):
        www = {"port": "tcp:0:interface=127.0.0.1", **kwargs.pop("www", {})}
        return self.www.reconfigServiceWithBuildbotConfig(
            SimpleNamespace(www=www, buildbotURL=URL, **kwargs)
        )


class IndexTests(UiMixin, unittest.TestCase):
    async def test_index_renders_config(self):
        await self.reconfig_full(
            title="My CI",
            titleURL="http://ci.example.org/",
            multiMaster=True,
            www={"versions": [("mytool", "1.0")], "ui_default_config": {"Builders.show": True}},
        )
        for path in ("", "index.html"):
            res = await self.page(path)
            self.assertEqual(res.code, 200)
            self.assertEqual(res.header("content-type"), "text/html; charset=utf-8")
            html = res.body.decode()
            cfg = page_config(html)
            self.assertEqual(cfg["title"], "My CI")
            self.assertEqual(cfg["titleURL"], "http://ci.example.org/")
            self.assertTrue(cfg["multiMaster"])
            self.assertEqual(cfg["buildbotURL"], URL)
            self.assertEqual(cfg["user"], {"anonymous": True})
            self.assertEqual(cfg["versions"][-1], ["mytool", "1.0"])
            self.assertEqual(cfg["ui_default_config"], {"Builders.show": True})
            # the template is autoescaped
            self.assertIn("&lt;b&gt;escaped&lt;/b&gt;", html)

    async def test_config_cannot_break_out_of_the_script(self):
        evil = "</script><script>alert(1)</script> & \u2028\u2029 <!--"
        await self.reconfig_full(title=evil, www={"ui_default_config": {"x": evil}})
        html = (await self.page()).body.decode()
        self.assertEqual(html.count("</script>"), 1)
        self.assertNotIn("<!--", html)
        self.assertNotIn("\u2028", html)
        cfg = page_config(html)
        self.assertEqual(cfg["title"], evil)
        self.assertEqual(cfg["ui_default_config"], {"x": evil})

    async def test_theme_css(self):
        theme = {
            "bb-accent": "#123456",
            "--bb-font": "'Helvetica Neue', sans-serif",
            "bb-pad": "calc(100% - 4px)",
            "bad name": "red",
            "bb-evil": "red;}</style><script>",
            "bb-number": 3,
        }
        await self.reconfig_full(www={"theme": theme})
        html = (await self.page()).body.decode()
        self.assertIn(
            '<style id="bb-theme">:root{--bb-accent: #123456;'
            "--bb-font: 'Helvetica Neue', sans-serif;--bb-pad: calc(100% - 4px);}</style>",
            html,
        )
        self.assertEqual(page_config(html)["theme"], theme)

    async def test_no_theme(self):
        html = (await self.page()).body.decode()
        self.assertIn('<style id="bb-theme"></style>', html)

    async def test_static_files(self):
        res = await self.page("assets/app.js")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.body, b"console.log('app');\n")
        self.assertIn("javascript", res.header("content-type"))
        res = await self.page("assets/style.css")
        self.assertEqual((res.code, res.header("content-type")), (200, "text/css"))

    async def test_not_found(self):
        for path in ("nosuch.js", "assets/nosuch.js", "assets/", "assets", "nosuch/deeper/x"):
            res = await self.page(path)
            self.assertEqual(res.code, 404, path)

    async def test_nobody_png_fallback(self):
        res = await self.page("img/nobody.png")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("content-type"), "image/png")
        self.assertEqual(res.body, index.NOBODY_PNG)
        self.assertTrue(res.body.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertEqual((await self.page("img/other.png")).code, 404)

    async def test_template_reloaded_when_changed(self):
        html = (await self.page()).body.decode()
        self.assertIn("escaped", html)
        path = os.path.join(self.www.base_ui.static_dir, "index.html")
        with open(path, "w") as f:
            f.write("<p>{{ theme_css }} v2 rebuilt with more text</p>")
        self.assertEqual((await self.page()).body, b"<p> v2 rebuilt with more text</p>")

    async def test_unreadable_index_gives_the_no_ui_page(self):
        os.remove(os.path.join(self.www.base_ui.static_dir, "index.html"))
        res = await self.page()
        self.assertEqual(res.code, 200)
        self.assertIn(b"buildbot-www", res.body)

    async def test_api_still_served(self):
        res = await self.request("GET", "api")
        self.assertEqual(res.code, 200)
        self.assertIn("api_versions", res.json())

    async def test_plugin_static_files(self):
        await self.reconfig_full(www={"plugins": {"myview": {"opt": 1}}})
        res = await self.page("plugins/myview/view.js")
        self.assertEqual((res.code, res.body), (200, b"// the plugin\n"))
        ep = self.www.plugins["myview"]
        self.assertEqual(ep.config, {"opt": 1})
        self.assertIs(ep.master, self.master)
        self.assertEqual((await self.page("plugins/myview/nosuch.js")).code, 404)
        self.assertEqual((await self.page("plugins/other/view.js")).code, 404)
        # a plugin dropped from the config is no longer served
        await self.reconfig_full(www={"plugins": {}})
        self.assertEqual((await self.page("plugins/myview/view.js")).code, 404)

    async def test_builtin_view_names_need_no_plugin(self):
        await self.reconfig_full(www={"plugins": {"waterfall_view": {}, "console_view": {}}})
        self.assertEqual(self.www.plugins, {})
        cfg = (await self.request("GET", "config")).json()
        self.assertEqual(cfg["plugins"], {"waterfall_view": {}, "console_view": {}})

    async def test_unknown_plugin_fails_the_reconfig(self):
        with self.assertRaisesRegex(RuntimeError, "could not find plugin nosuch"):
            await self.reconfig_full(www={"plugins": {"nosuch": {}}})


class ConfigTests(UiMixin, unittest.TestCase):
    async def test_config_keys(self):
        res = await self.request("GET", "config")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("content-type"), "application/json")
        cfg = res.json()
        self.assertEqual(
            set(cfg),
            {
                "port", "plugins", "auth", "authz", "avatar_methods", "logfileName",
                "versions", "buildbotURL", "title", "titleURL", "multiMaster", "user",
            },
        )  # fmt: skip
        self.assertEqual(cfg["auth"], {"name": "NoAuth"})
        self.assertEqual(cfg["authz"], {})
        # the default is one method, sent as one dict (not a list), as Buildbot does
        self.assertEqual(cfg["avatar_methods"], {"name": "gravatar"})
        self.assertEqual([v[0] for v in cfg["versions"]], ["Python", "Buildbot", "Twisted"])
        self.assertTrue(all(isinstance(v, str) for pair in cfg["versions"] for v in pair))
        self.assertEqual((cfg["title"], cfg["titleURL"]), ("Buildbot", "http://buildbot.net/"))
        self.assertIs(cfg["multiMaster"], False)
        self.assertEqual(cfg["user"], {"anonymous": True})

    async def test_server_side_keys_are_not_sent(self):
        import datetime

        from buildbot.www.avatar import AvatarGitHub, AvatarGravatar

        templates = os.path.join(self.master.basedir, "tpl")
        os.makedirs(templates)
        for name in ("foo.html", "bar.html", "skip.txt"):
            with open(os.path.join(templates, name), "w") as f:
                f.write(f"<p>{name}</p>")
        await self.reconfig_full(
            www={
                "change_hook_dialects": {"github": {"secret": "s3cret"}},
                "change_hook_auth": ["file:x"],
                "custom_templates_dir": "tpl",
                "cookie_expiration_time": datetime.timedelta(hours=1),
                "avatar_methods": [AvatarGitHub(token="t0ken"), AvatarGravatar()],
                "default_page": "builders",
                "json_cache_seconds": 3,
                "odd": object(),
                "pattern": re.compile("^rel-"),
            }
        )
        body = (await self.request("GET", "config")).body.decode()
        self.assertNotIn("s3cret", body)
        self.assertNotIn("t0ken", body)
        cfg = json.loads(body)
        for key in ("change_hook_dialects", "change_hook_auth", "custom_templates_dir"):
            self.assertNotIn(key, cfg)
        self.assertEqual(cfg["cookie_expiration_time"], 3600)
        self.assertEqual(cfg["avatar_methods"], [{"name": "github"}, {"name": "gravatar"}])
        self.assertEqual(cfg["default_page"], "builders")
        self.assertEqual(cfg["json_cache_seconds"], 3)
        self.assertEqual(cfg["odd"], "'builtins.object' not yet IConfigured")
        self.assertEqual(cfg["pattern"], {"name": "re", "pattern": "^rel-"})
        self.assertEqual(
            cfg["custom_templates"], {"bar": "<p>bar.html</p>", "foo": "<p>foo.html</p>"}
        )

    async def test_configured_keys_only(self):
        from buildbot.www.avatar import AvatarGitHub

        await self.reconfig_full(
            www={"avatar_methods": AvatarGitHub(), "theme": {"bb-accent": "#123456"}}
        )
        cfg = (await self.request("GET", "config")).json()
        self.assertEqual(cfg["avatar_methods"], {"name": "github"})
        self.assertEqual(cfg["theme"], {"bb-accent": "#123456"})
        self.assertNotIn("ui_default_config", cfg)
        self.assertNotIn("custom_templates", cfg)
        await self.reconfig_full(www={"avatar_methods": []})
        self.assertEqual((await self.request("GET", "config")).json()["avatar_methods"], [])

    async def test_user_after_login(self):
        await self.reconfig_full(www={"auth": auth.UserPasswordAuth({"alice": "pw"})})
        res = await self.request("GET", "auth/login", headers=basic("alice", "pw"))
        self.assertEqual(res.code, 200)
        cookie = res.header("Set-Cookie").split(";")[0]
        for path in ("config", ""):
            res = await self.request("GET", path, headers={"Cookie": cookie})
            cfg = res.json() if path else page_config(res.body.decode())
            self.assertEqual(cfg["auth"], {"name": "UserPasswordAuth"})
            self.assertEqual(cfg["user"]["username"], "alice")
        cfg = (await self.request("GET", "config")).json()
        self.assertEqual(cfg["user"], {"anonymous": True})

    def test_to_json_odd_values(self):
        out = json.loads(to_json({"s": {1, 2}, "t": (1, "a"), "o": auth.NoAuth()}))
        self.assertEqual(sorted(out["s"]), [1, 2])
        self.assertEqual(out["t"], [1, "a"])
        self.assertEqual(out["o"], {"name": "NoAuth"})


class NoUiTests(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def setUp(self):
        use_plugins(self)
        self.messages = []
        log.addObserver(self.observe)
        self.addCleanup(log.removeObserver, self.observe)
        await super().setUp()

    def observe(self, event):
        self.messages.append(" ".join(str(m) for m in event.get("message", ())))

    async def test_no_ui_page(self):
        res = await self.request("GET", "")
        self.assertEqual(res.code, 200)
        self.assertIn(b"buildbot-www", res.body)
        self.assertIn("text/html", res.header("content-type"))
        self.assertEqual((await self.request("GET", "assets/app.js")).code, 404)
        self.assertEqual((await self.request("GET", "img/nobody.png")).code, 200)
        self.assertEqual((await self.request("GET", "api")).code, 200)
        self.assertEqual((await self.request("GET", "config")).code, 200)
        await self.reconfig_www(json_cache_seconds=1)
        warnings = [m for m in self.messages if "buildbot-www is not installed" in m]
        self.assertEqual(len(warnings), 1)

    async def test_broken_base_plugin(self):
        def broken():
            raise ImportError("boom")

        self.patch(plugin, "load_plugin", lambda name: broken())
        self.www.site = None
        await self.reconfig_www()
        self.assertIsNone(self.www.base_ui)
        self.assertEqual(len(self.flushLoggedErrors(ImportError)), 1)


class ApplicationTests(unittest.TestCase):
    def test_attributes(self):
        name = make_ui_package(self, {"index.html": "x"})
        mod = __import__(name)
        ep = mod.ep
        self.assertEqual(ep.modulename, name)
        self.assertEqual(ep.description, name)
        self.assertTrue(ep.ui)
        self.assertEqual(ep.version, "unknown")  # no distribution ships it
        self.assertEqual(ep.static_dir, os.path.join(os.path.dirname(mod.__file__), "static"))
        self.assertIsInstance(ep.resource, static.File)
        self.assertEqual(ep.resource.path, ep.static_dir)
        ep.setMaster("m")
        ep.setConfiguration({"a": 1})
        self.assertEqual((ep.master, ep.config), ("m", {"a": 1}))
        self.assertIn(name, repr(ep))

    def test_version_of_a_distribution(self):
        ep = plugin.Application("twisted", "not a UI", ui=False)
        self.assertEqual(ep.version, importlib.metadata.version("twisted"))
        self.assertFalse(ep.ui)
        # a package whose distribution is named differently
        self.assertEqual(
            plugin.Application("jwt", "x").version, importlib.metadata.version("PyJWT")
        )

    def test_find_and_load(self):
        name = make_ui_package(self, {})
        use_plugins(self, mine=name)
        self.assertEqual(set(plugin.find_plugins()), {"mine"})
        self.assertEqual(plugin.load_plugin("mine").modulename, name)
        self.assertIsNone(plugin.load_plugin("other"))

    def test_real_entry_points(self):
        # whatever is installed: every entry is a (lazy) entry point of the group
        for name, entry in plugin.find_plugins().items():
            self.assertEqual(entry.group, "buildbot.www")
            self.assertEqual(entry.name, name)
