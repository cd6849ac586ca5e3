from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from buildbot.interfaces import IProperties, IRenderable
from buildbot.process import properties as P
from buildbot.process.properties import Properties, PropertiesMixin, Property, renderer


class FakeBuild(PropertiesMixin):
    def __init__(self, props: Properties, master: Any = None) -> None:
        self.properties = props
        self.master = master
        props.build = self

    def getProperties(self) -> Properties:
        return self.properties


class TestProperties(unittest.TestCase):
    def setUp(self):
        self.props = Properties()

    def test_interface(self):
        verifyObject(IProperties, self.props)

    def test_kwargs_source(self):
        props = Properties(a=1, b="x")
        self.assertEqual(props.asDict(), {"a": (1, "TEST"), "b": ("x", "TEST")})

    def test_set_get(self):
        self.props.setProperty("a", [1, 2], "src")
        self.assertEqual(self.props.getProperty("a"), [1, 2])
        self.assertEqual(self.props["a"], [1, 2])
        self.assertEqual(self.props.getPropertySource("a"), "src")
        self.assertIsNone(self.props.getProperty("missing"))
        self.assertEqual(self.props.getProperty("missing", 7), 7)

    def test_none_value_is_a_value(self):
        self.props.setProperty("n", None, "s")
        self.assertTrue(self.props.hasProperty("n"))
        self.assertIsNone(self.props.getProperty("n", "dflt"))

    def test_has_and_contains(self):
        self.props.setProperty("a", 0, "s")
        self.assertTrue(self.props.hasProperty("a"))
        self.assertTrue(self.props.has_key("a"))
        self.assertIn("a", self.props)
        self.assertNotIn("b", self.props)
        self.assertFalse(self.props.hasProperty("b"))

    def test_getitem_missing(self):
        with self.assertRaises(KeyError):
            self.props["nope"]
        with self.assertRaises(KeyError):
            self.props.getPropertySource("nope")

    def test_bytes_name_is_decoded(self):
        self.props.setProperty(b"a", 1, "s")
        self.assertEqual(self.props.keys(), ["a"])

    def test_refuses_non_json(self):
        with self.assertRaises(TypeError) as cm:
            self.props.setProperty("weird", object(), "s")
        self.assertIn("'weird'", str(cm.exception))
        self.assertIn("JSON", str(cm.exception))
        self.assertNotIn("weird", self.props)
        with self.assertRaises(TypeError):
            self.props.update({"ok": 1, "s": {1, 2}}, "src")

    def test_accepts_renderable_value(self):
        self.props.setProperty("r", Property("x"), "s")
        self.assertIn("r", self.props)

    def test_asList_asDict_keys(self):
        self.props.update({"a": 1, "b": "two"}, "src")
        self.assertEqual(sorted(self.props.asList()), [("a", 1, "src"), ("b", "two", "src")])
        self.assertEqual(self.props.asDict(), {"a": (1, "src"), "b": ("two", "src")})
        self.assertEqual(sorted(self.props.keys()), ["a", "b"])

    def test_update_later_wins(self):
        self.props.update({"a": 1, "b": 2}, "global")
        self.props.update({"a": 3}, "Scheduler")
        self.assertEqual(self.props.asDict(), {"a": (3, "Scheduler"), "b": (2, "global")})

    def test_runtime_tracking(self):
        self.props.setProperty("a", 1, "s")
        self.props.setProperty("b", 2, "s", runtime=True)
        self.props.update({"c": 3}, "s", runtime=True)
        self.assertEqual(self.props.runtime, {"b", "c"})

    def test_updateFromProperties(self):
        other = Properties()
        other.setProperty("a", 1, "o")
        other.setProperty("r", 2, "o", runtime=True)
        self.props.setProperty("a", 0, "mine")
        self.props.setProperty("keep", 5, "mine")
        self.props.updateFromProperties(other)
        self.assertEqual(self.props.asDict(), {"a": (1, "o"), "r": (2, "o"), "keep": (5, "mine")})
        self.assertEqual(self.props.runtime, {"r"})

    def test_updateFromPropertiesNoRuntime(self):
        other = Properties()
        other.setProperty("a", 1, "o")
        other.setProperty("r", 2, "o", runtime=True)
        self.props.updateFromPropertiesNoRuntime(other)
        self.assertEqual(self.props.asDict(), {"a": (1, "o")})
        self.assertEqual(self.props.runtime, set())

    def test_fromDict(self):
        props = Properties.fromDict({"a": (1, "x"), "b": ([2], "y")})
        self.assertEqual(props.asDict(), {"a": (1, "x"), "b": ([2], "y")})

    def test_eq(self):
        a = Properties(x=1)
        b = Properties(x=1)
        self.assertEqual(a, b)
        b.setProperty("x", 1, "other")
        self.assertNotEqual(a, b)
        self.assertNotEqual(a, {"x": (1, "TEST")})

    def test_repr(self):
        self.assertEqual(repr(Properties(a=1)), "Properties(**{'a': 1})")

    def test_build_and_master(self):
        self.assertIsNone(self.props.getBuild())
        self.assertIsNone(self.props.master)
        self.assertIsNone(self.props.getSourceStamp())
        master = object()
        build = FakeBuild(self.props, master=master)
        self.assertIs(self.props.getBuild(), build)
        self.assertIs(self.props.build, build)
        self.assertIs(self.props.master, master)
        other = object()
        self.props.master = other
        self.assertIs(self.props.master, other)

    def test_getSourceStamp_delegates(self):
        build = FakeBuild(self.props)
        build.getSourceStamp = lambda codebase="": {"codebase": codebase}
        self.assertEqual(self.props.getSourceStamp("cb"), {"codebase": "cb"})

    def test_secret_scrubbing(self):
        self.props.useSecret("s3cr3t", "token")
        self.props.useSecret("s3cr3t-long", "long")
        self.props.useSecret("", "empty")
        self.assertEqual(
            self.props.cleanupTextFromSecrets("a s3cr3t-long b s3cr3t"), "a <long> b <token>"
        )


class TestRender(unittest.TestCase):
    def setUp(self):
        self.props = Properties(a="A", n=3)

    async def test_plain_values(self):
        for value in ("s", 1, 2.5, None, True, b"x"):
            self.assertEqual(await self.props.render(value), value)

    async def test_other_objects_render_as_themselves(self):
        obj = object()
        self.assertIs(await self.props.render(obj), obj)

    async def test_nested(self):
        value = {
            "k": [Property("a"), ("t", Property("n")), {"deep": [Property("a")]}],
            Property("a"): "key rendered too",
        }
        self.assertEqual(
            await self.props.render(value),
            {"k": ["A", ("t", 3), {"deep": ["A"]}], "A": "key rendered too"},
        )

    async def test_sync_nested_stays_plain(self):
        from buildbot.process.renderables import render

        self.assertEqual(render([1, ("a", {"b": 2})], self.props), [1, ("a", {"b": 2})])

    async def test_deferred_renderer(self):
        d: defer.Deferred = defer.Deferred()

        @renderer
        def slow(props):
            return d

        result = self.props.render([slow, "x"])
        self.assertNoResult(result)
        d.callback("done")
        self.assertEqual(self.successResultOf(result), ["done", "x"])

    async def test_async_renderer(self):
        @renderer
        async def coro(props):
            return props.getProperty("a") + "!"

        self.assertEqual(await self.props.render(coro), "A!")

    async def test_failure_in_list_is_unwrapped(self):
        @renderer
        def boom(props):
            raise ValueError("bad")

        with self.assertRaises(ValueError):
            await self.props.render(["x", Property("a"), boom])

    async def test_sync_error_after_async_failure(self):
        @renderer
        def fails_later(props):
            return defer.fail(KeyError("first"))

        class Broken:
            def getRenderingFor(self, props):
                raise RuntimeError("sync failure")

        from zope.interface import directlyProvides

        broken = Broken()
        directlyProvides(broken, IRenderable)
        # the first failure is reported; the other is consumed, not left unhandled
        with self.assertRaises(KeyError):
            await self.props.render([fails_later, broken])

    async def test_irenderable_adapters(self):
        for value in ("s", 5, None, [Property("a")], (Property("n"),), {"x": Property("a")}):
            self.assertTrue(verifyObject(IRenderable, IRenderable(value)))
        self.assertEqual(IRenderable("s").getRenderingFor(self.props), "s")
        self.assertEqual(IRenderable(5).getRenderingFor(self.props), 5)
        self.assertEqual(
            await defer.maybeDeferred(IRenderable([Property("a")]).getRenderingFor, self.props),
            ["A"],
        )
        self.assertEqual(
            await defer.maybeDeferred(
                IRenderable({"x": Property("n")}).getRenderingFor, self.props
            ),
            {"x": 3},
        )
        prop = Property("a")
        self.assertIs(IRenderable(prop), prop)

    async def test_render_returns_deferred_on_sync_error(self):
        class Broken:
            def getRenderingFor(self, props):
                raise RuntimeError("sync failure")

        from zope.interface import directlyProvides

        broken = Broken()
        directlyProvides(broken, IRenderable)
        d = self.props.render(broken)
        self.assertIsInstance(d, defer.Deferred)
        self.failureResultOf(d, RuntimeError)


class TestPropertiesMixin(unittest.TestCase):
    def setUp(self):
        self.props = Properties()
        self.build = FakeBuild(self.props)

    def test_interface(self):
        verifyObject(IProperties, self.build)

    def test_delegation(self):
        self.build.setProperty("a", 1, "Build")
        self.assertEqual(self.build.getProperty("a"), 1)
        self.assertEqual(self.build.getProperty("b", "d"), "d")
        self.assertTrue(self.build.hasProperty("a"))
        self.assertTrue(self.build.has_key("a"))
        self.assertEqual(self.props.getPropertySource("a"), "Build")

    def test_default_source_and_runtime(self):
        self.build.setProperty("a", 1)
        self.assertEqual(self.props.getPropertySource("a"), "Unknown")
        self.assertEqual(self.props.runtime, set())
        self.build.set_runtime_properties = True
        self.build.setProperty("b", 1)
        self.build.setProperty("c", 1, runtime=False)
        self.assertEqual(self.props.runtime, {"b"})

    def test_refuses_non_json(self):
        with self.assertRaises(TypeError):
            self.build.setProperty("x", object())

    async def test_render(self):
        self.build.setProperty("a", "v")
        seen = []

        @renderer
        def r(props):
            seen.append(props)
            return props.getProperty("a")

        self.assertEqual(await self.build.render([r]), ["v"])
        self.assertIs(seen[0], self.props)

    def test_getProperties_abstract(self):
        with self.assertRaises(NotImplementedError):
            PropertiesMixin().getProperties()


class TestPublicNames(unittest.TestCase):
    def test_importable(self):
        for name in (
            "Properties",
            "PropertiesMixin",
            "Property",
            "Interpolate",
            "renderer",
            "Transform",
            "FlattenList",
            "WithProperties",
            "Secret",
            "_Lookup",
            "_PropertyMap",
            "RenderableOperatorsMixin",
        ):
            self.assertTrue(hasattr(P, name), name)
