from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.config.errors import ConfigErrors, capture_config_errors
from buildbot.locks import MasterLock
from buildbot.process.factory import BuildFactory
from buildbot.test.unit.config.configfakes import FakeRenderable


class TestBuilderConfig(unittest.TestCase):
    def make(self, **kw: Any) -> BuilderConfig:
        kw.setdefault("name", "b")
        kw.setdefault("workernames", ["w"])
        kw.setdefault("factory", BuildFactory())
        return BuilderConfig(**kw)

    def errors_of(self, **kw: Any) -> list[str]:
        with capture_config_errors() as errors:
            self.make(**kw)
        return errors.errors

    def assertError(self, fragment: str, **kw: Any) -> None:
        errors = self.errors_of(**kw)
        self.assertTrue(any(fragment in e for e in errors), errors)

    def test_defaults(self):
        factory = BuildFactory()
        b = BuilderConfig(name="a b/c", workername="w", factory=factory)
        self.assertEqual(b.name, "a b/c")
        self.assertEqual(b.workernames, ["w"])
        self.assertEqual(b.builddir, "a_b_c")
        self.assertEqual(b.workerbuilddir, "a_b_c")
        self.assertEqual(
            (b.tags, b.locks, b.env, b.properties, b.defaultProperties), ([],) * 2 + ({},) * 3
        )
        self.assertIsNone(b.collapseRequests)
        self.assertIs(b.factory, factory)

    def test_positional_order_of_the_spec(self):
        f = BuildFactory()
        b = BuilderConfig("n", "w1", ["w2"], "bd", "wbd", f, ["t"])
        self.assertEqual(
            (b.name, b.workernames, b.builddir, b.workerbuilddir), ("n", ["w2", "w1"], "bd", "wbd")
        )
        self.assertEqual(b.tags, ["t"])

    def test_error_outside_loading_raises(self):
        with self.assertRaises(ConfigErrors):
            BuilderConfig(name="b", workernames=["w"])

    def test_name_required(self):
        self.assertError("builder's name is required", name=None)
        self.assertError("builder's name is required", name=3)

    def test_bytes_name(self):
        self.assertEqual(self.make(name=b"bin").name, "bin")
        self.assertError("ASCII", name="é".encode())

    def test_underscore(self):
        self.assertError("must not start with an underscore", name="_x")
        self.assertEqual(self.errors_of(name="__Janitor"), [])

    def test_factory(self):
        self.assertError("builder 'b' has no factory", factory=None)
        self.assertError("factory is not a BuildFactory instance", factory=object())

    def test_workernames(self):
        self.assertEqual(self.make(workernames="w").workernames, ["w"])
        self.assertError("at least one workername is required", workernames=None)
        self.assertError("workernames must be a list or a string", workernames=("a",))
        self.assertError("workername must be a string", workernames=None, workername=3)

    def test_tags(self):
        self.assertError("tags must be a list", tags="t")
        self.assertError("not a string", tags=["a", 1])
        self.assertError("duplicate tags: a", tags=["a", "b", "a"])
        self.assertEqual(self.make(tags=["a", "b"]).tags, ["a", "b"])

    def test_callables(self):
        for attr in ("nextWorker", "nextBuild", "canStartBuild", "do_build_if"):
            self.assertError(f"{attr} must be a callable", **{attr: "x"})
            self.assertEqual(self.errors_of(**{attr: lambda *a: None}), [])

    def test_collapse_requests(self):
        self.assertEqual(self.make(collapseRequests=False).collapseRequests, False)
        self.assertError("collapseRequests must be a callable", collapseRequests="x")

    def test_env_and_properties(self):
        self.assertError("env must be a dictionary", env=["x"])
        renderable = FakeRenderable({})
        self.assertIs(self.make(env=renderable).env, renderable)
        self.assertError("properties must be a dictionary", properties=[1])
        self.assertError("defaultProperties must be a dictionary", defaultProperties="x")
        self.assertError("longer than 256", properties={"p" * 257: 1})
        self.assertEqual(self.make(properties={"a": 1}).properties, {"a": 1})

    def test_locks(self):
        access = MasterLock("l").access("exclusive")
        self.assertEqual(self.make(locks=[access]).locks, [access])
        self.assertError("is not a lock access", locks=["l"])
        self.assertError("locks must be a list", locks="l")

    def test_description_format(self):
        self.assertEqual(self.errors_of(description="d", description_format="markdown"), [])
        self.assertError("None or 'markdown'", description_format="html")

    def test_project(self):
        self.assertEqual(self.make(project="p").project, "p")
        self.assertError("project must be a string", project=1)

    def test_all_errors_reported(self):
        errors = self.errors_of(name="_x", factory=None, workernames=None, tags="t")
        self.assertEqual(len(errors), 4, errors)

    def test_get_config_dict(self):
        f = BuildFactory()
        b = self.make(factory=f, tags=["t"], collapseRequests=False)
        self.assertEqual(
            b.getConfigDict(),
            {
                "name": "b",
                "workernames": ["w"],
                "factory": f,
                "builddir": "b",
                "workerbuilddir": "b",
                "tags": ["t"],
                "collapseRequests": False,
            },
        )

    def test_equality(self):
        f = BuildFactory()
        self.assertEqual(self.make(factory=f), self.make(factory=f))
        self.assertNotEqual(self.make(factory=f), self.make(factory=f, tags=["x"]))
