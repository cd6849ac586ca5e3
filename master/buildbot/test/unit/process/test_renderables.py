from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import (
    FlattenList,
    Interpolate,
    MissingSecretError,
    Properties,
    Property,
    Secret,
    Transform,
    _Lookup,
    renderer,
)


class SecretDetails:
    def __init__(self, value: str) -> None:
        self.value = value


class FakeSecretsManager:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    def get(self, name: str) -> defer.Deferred:
        self.asked.append(name)
        value = self.secrets.get(name)
        return defer.succeed(None if value is None else SecretDetails(value))


class FakeMaster:
    def __init__(self, secrets_manager: Any = None) -> None:
        self.secrets_manager = secrets_manager


class TestProperty(unittest.TestCase):
    def setUp(self):
        self.props = Properties(s="str", empty="", zero=0)

    async def test_value(self):
        self.assertEqual(await self.props.render(Property("s")), "str")

    async def test_missing_default(self):
        self.assertIsNone(await self.props.render(Property("nope")))
        self.assertEqual(await self.props.render(Property("nope", default="d")), "d")

    async def test_default_when_false(self):
        self.assertEqual(await self.props.render(Property("empty", default="d")), "d")
        self.assertEqual(await self.props.render(Property("zero", default=5)), 5)

    async def test_no_default_when_false(self):
        self.assertEqual(
            await self.props.render(Property("empty", default="d", defaultWhenFalse=False)), ""
        )
        self.assertEqual(
            await self.props.render(Property("nope", default="d", defaultWhenFalse=False)), "d"
        )

    async def test_renderable_default_and_value(self):
        self.props.setProperty("r", Interpolate("<%(prop:s)s>"), "s")
        self.assertEqual(await self.props.render(Property("r")), "<str>")
        self.assertEqual(await self.props.render(Property("nope", default=Property("s"))), "str")


class TestRenderer(unittest.TestCase):
    def setUp(self):
        self.props = Properties(a=2)

    async def test_decorator(self):
        @renderer
        def double(props):
            return props.getProperty("a") * 2

        self.assertEqual(await self.props.render(double), 4)

    async def test_withArgs_rendered(self):
        @renderer
        def join(props, *args, **kwargs):
            return [args, kwargs]

        base = join.withArgs("x", Property("a"), k=Property("a"))
        more = base.withArgs("y", j=1)
        self.assertEqual(await self.props.render(base), [("x", 2), {"k": 2}])
        self.assertEqual(await self.props.render(more), [("x", 2, "y"), {"k": 2, "j": 1}])
        # withArgs makes a copy
        self.assertEqual(await self.props.render(join), [(), {}])

    async def test_result_rendered_again(self):
        @renderer
        def indirect(props):
            return [Property("a"), Interpolate("%(prop:a)s!")]

        self.assertEqual(await self.props.render(indirect), [2, "2!"])

    async def test_deferred_result(self):
        @renderer
        def later(props):
            return defer.succeed(Property("a"))

        self.assertEqual(await self.props.render(later), 2)


class TestTransform(unittest.TestCase):
    def setUp(self):
        self.props = Properties(a="x", n=3)

    async def test_args_rendered(self):
        t = Transform(lambda a, b, sep="": a + sep + b, Property("a"), "y", sep=Property("a"))
        self.assertEqual(await self.props.render(t), "xxy")

    async def test_renderable_function(self):
        @renderer
        def pick(props):
            return str.upper

        self.assertEqual(await self.props.render(Transform(pick, Property("a"))), "X")

    async def test_deferred_function(self):
        t = Transform(lambda n: defer.succeed(n * 2), Property("n"))
        self.assertEqual(await self.props.render(t), 6)

    def test_not_callable_is_config_error(self):
        with self.assertRaises(config.ConfigErrors) as cm:
            Transform("nope")
        self.assertIn("neither callable nor renderable", str(cm.exception))


class TestFlattenList(unittest.TestCase):
    def setUp(self):
        self.props = Properties(extra=["-a", ["-b"]])

    async def test_flatten(self):
        value = FlattenList(["make", Property("extra"), ("x", ["y"]), "z"])
        self.assertEqual(await self.props.render(value), ["make", "-a", "-b", "x", "y", "z"])

    async def test_types(self):
        value = FlattenList(["a", ("b", "c"), ["d"]], types=(list,))
        self.assertEqual(await self.props.render(value), ["a", ("b", "c"), "d"])

    async def test_add(self):
        value = FlattenList([["a"], "b"]) + ["c"]
        self.assertEqual(await self.props.render(value), ["a", "b", "c"])


class TestSecret(unittest.TestCase):
    def setUp(self):
        self.manager = FakeSecretsManager({"token": "s3cr3t"})
        self.props = Properties()
        self.props.master = FakeMaster(self.manager)

    async def test_found(self):
        self.assertEqual(await self.props.render(Secret("token")), "s3cr3t")
        self.assertEqual(self.manager.asked, ["token"])
        self.assertEqual(self.props.cleanupTextFromSecrets("x s3cr3t"), "x <token>")

    async def test_plain_value_from_manager(self):
        class Plain:
            def get(self, name):
                return "v-" + name

        self.props.master = FakeMaster(Plain())
        self.assertEqual(await self.props.render(Secret("k")), "v-k")

    async def test_missing_names_the_secret(self):
        with self.assertRaises(MissingSecretError) as cm:
            await self.props.render(Secret("other"))
        self.assertIsInstance(cm.exception, KeyError)
        self.assertIn("'other'", str(cm.exception))
        self.assertIn("not found", str(cm.exception))

    async def test_no_provider(self):
        self.props.master = FakeMaster(None)
        with self.assertRaises(MissingSecretError) as cm:
            await self.props.render(Secret("token"))
        self.assertIn("'token'", str(cm.exception))
        self.assertIn("secretsProviders", str(cm.exception))

    async def test_no_master(self):
        with self.assertRaises(MissingSecretError):
            await Properties().render(Secret("token"))

    async def test_named_service_fallback(self):
        class Master:
            secrets_manager = None
            namedServices = {"secrets": FakeSecretsManager({"x": "y"})}

        self.props.master = Master()
        self.assertEqual(await self.props.render(Secret("x")), "y")

    async def test_in_interpolate(self):
        self.assertEqual(await self.props.render(Interpolate("tok=%(secret:token)s")), "tok=s3cr3t")
        with self.assertRaises(MissingSecretError):
            await self.props.render(Interpolate("%(secret:absent)s"))


class TestOperators(unittest.TestCase):
    def setUp(self):
        self.props = Properties(a=6, b=4, s="x", lst=["x", "y"])

    async def check(self, renderable, expected):
        self.assertEqual(await self.props.render(renderable), expected)

    async def test_comparisons(self):
        a, b = Property("a"), Property("b")
        await self.check(a == 6, True)
        await self.check(a == b, False)
        await self.check(a != b, True)
        await self.check(a < b, False)
        await self.check(a <= 6, True)
        await self.check(a > b, True)
        await self.check(b >= 5, False)

    async def test_arithmetic(self):
        a, b = Property("a"), Property("b")
        await self.check(a + b, 10)
        await self.check(a - b, 2)
        await self.check(a * b, 24)
        await self.check(a / b, 1.5)
        await self.check(a // b, 1)
        await self.check(a % b, 2)

    async def test_reflected(self):
        a = Property("a")
        await self.check(10 + a, 16)
        await self.check(10 - a, 4)
        await self.check(2 * a, 12)
        await self.check(12 / a, 2)
        await self.check(13 // a, 2)
        await self.check(13 % a, 1)

    async def test_in(self):
        await self.check(Property("s").in_(Property("lst")), True)
        await self.check(Property("s").in_(["z"]), False)

    async def test_chained_and_other_renderables(self):
        expr = (Property("a") + Property("b")) * 2 == 20
        await self.check(expr, True)
        await self.check(Interpolate("%(prop:s)s") + "y", "xy")
        await self.check(Transform(lambda v: v + 1, Property("a")) > 6, True)

        @renderer
        def one(props):
            return 1

        await self.check(one + one, 2)

    def test_bool_is_structural_equality(self):
        self.assertTrue(Property("a") == Property("a"))
        self.assertFalse(Property("a") == Property("b"))
        self.assertTrue(Property("a") != Property("b"))
        self.assertTrue(Interpolate("%(prop:a)s") == Interpolate("%(prop:a)s"))
        self.assertFalse(Interpolate("%(prop:a)s") == Interpolate("%(prop:b)s"))
        self.assertEqual(hash(Property("a")), hash(Property("a")))
        # a changed renderable inside config arguments counts as a change
        self.assertFalse(("x", Interpolate("a")) == ("x", Interpolate("b")))
        self.assertTrue(("x", [Secret("k")]) == ("x", [Secret("k")]))


class TestLookup(unittest.TestCase):
    def setUp(self):
        self.props = Properties()

    async def check(self, lookup, expected):
        self.assertEqual(await self.props.render(lookup), expected)

    async def test_lookup(self):
        d = {"x": "X", "f": "", "n": None}
        await self.check(_Lookup(d, "x"), "X")
        await self.check(_Lookup(d, "missing"), "")
        await self.check(_Lookup(d, "n"), "")
        await self.check(_Lookup(d, "missing", default="d"), "d")
        await self.check(_Lookup(d, "f", default="d"), "")
        await self.check(_Lookup(d, "f", default="d", defaultWhenFalse=True), "d")
        await self.check(_Lookup(d, "x", hasKey="yes"), "yes")
        await self.check(_Lookup(d, "missing", hasKey="yes", default="no"), "no")
        await self.check(_Lookup(d, "n", elideNoneAs="NONE"), "NONE")
