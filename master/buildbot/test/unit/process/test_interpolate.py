from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot import config
from buildbot.process.properties import (
    Interpolate,
    Properties,
    PropertiesMixin,
    Property,
    WithProperties,
    renderer,
)


class FakeSourceStamp:
    def __init__(self, **kw: Any) -> None:
        self.branch = self.revision = self.repository = self.project = None
        self.codebase = ""
        self.patch = None
        self.patch_info = None
        self.__dict__.update(kw)


class FakeBuild(PropertiesMixin):
    def __init__(self, props, sourcestamps=None, worker_info=None):
        self.properties = props
        self.sourcestamps = sourcestamps or {}
        self.worker_info = worker_info or {}
        self.master = None
        props.build = self

    def getProperties(self):
        return self.properties

    def getSourceStamp(self, codebase=""):
        return self.sourcestamps.get(codebase)

    def getWorkerInfo(self):
        return self.worker_info


class InterpolateTestBase(unittest.TestCase):
    def setUp(self):
        self.props = Properties(
            branch="main", empty="", zero=0, none=None, num=7, flag=True, word="w"
        )
        self.build = FakeBuild(
            self.props,
            sourcestamps={
                "": FakeSourceStamp(
                    branch="dev",
                    revision="abc",
                    repository="git://r",
                    project="p",
                    patch=(1, "diff", "sub"),
                    patch_info=("alice", "fix it"),
                ),
                "lib": {"branch": "lb", "revision": None, "codebase": "lib"},
            },
            worker_info={"os": "linux", "admin": "", "host": "h1"},
        )

    async def check(self, fmt, expected, *args, **kwargs):
        rendered = await self.props.render(Interpolate(fmt, *args, **kwargs))
        self.assertEqual(rendered, expected)

    def assertConfigError(self, fn, *needles):
        with self.assertRaises(config.ConfigErrors) as cm:
            fn()
        text = str(cm.exception)
        for needle in needles:
            self.assertIn(needle, text)


class TestInterpolateSelectors(InterpolateTestBase):
    async def test_no_substitution(self):
        await self.check("plain 100%%", "plain 100%")

    async def test_positional(self):
        await self.check("%s-%s-%d", "main-x-3", Property("branch"), "x", 3)

    async def test_positional_renderable_args(self):
        await self.check("%s", "['main']", [Property("branch")])

    async def test_prop(self):
        await self.check("b=%(prop:branch)s n=%(prop:num)d", "b=main n=7")

    async def test_prop_missing_and_none(self):
        await self.check("[%(prop:nope)s][%(prop:none)s]", "[][]")

    async def test_prop_holding_renderable(self):
        self.props.setProperty("r", Interpolate("<%(prop:word)s>"), "s")
        await self.check("%(prop:r)s", "<w>")

    async def test_src(self):
        await self.check(
            "%(src::branch)s %(src::revision)s %(src::repository)s %(src::project)s",
            "dev abc git://r p",
        )
        await self.check(
            "%(src::patch_level)s|%(src::patch_body)s|%(src::patch_subdir)s|"
            "%(src::patch_author)s|%(src::patch_comment)s",
            "1|diff|sub|alice|fix it",
        )

    async def test_src_dict_sourcestamp_and_missing(self):
        await self.check("%(src:lib:branch)s/%(src:lib:revision)s", "lb/")
        # a sourcestamp attribute that is None is present (with an empty value)
        await self.check("[%(src:lib:revision:-none)s]", "[]")
        await self.check("%(src:lib:revision:~none)s", "none")
        await self.check("[%(src:nocb:branch)s]", "[]")
        await self.check("%(src:nocb:branch:-dflt)s", "dflt")
        await self.check("%(src:lib:patch_body:~nopatch)s", "nopatch")

    async def test_src_without_build(self):
        props = Properties()
        self.assertEqual(await props.render(Interpolate("[%(src::branch:-x)s]")), "[x]")

    async def test_worker(self):
        await self.check("%(worker:os)s@%(worker:host)s", "linux@h1")
        await self.check("[%(worker:nope)s]%(worker:admin:~nobody)s", "[]nobody")

    async def test_worker_without_build(self):
        props = Properties()
        self.assertEqual(await props.render(Interpolate("%(worker:os:-?)s")), "?")

    async def test_kw(self):
        await self.check("%(kw:a)s-%(kw:b)s", "x-main", a="x", b=Property("branch"))
        await self.check("[%(kw:missing)s]", "[]", a="x")
        await self.check("%(kw:missing:-d)s", "d", a="x")

    async def test_kw_available_in_replacements(self):
        await self.check("%(prop:nope:-%(kw:a)s)s", "x", a="x")

    async def test_same_key_twice(self):
        await self.check("%(prop:word)s%(prop:word)s", "ww")

    async def test_renderer_in_kwargs(self):
        @renderer
        def r(props):
            return props.getProperty("num") + 1

        await self.check("%(kw:r)s", "8", r=r)

    async def test_from_build_directly(self):
        value = await Interpolate("%(prop:branch)s").getRenderingFor(self.build)
        self.assertEqual(value, "main")


class TestInterpolateOperators(InterpolateTestBase):
    async def test_minus(self):
        await self.check("%(prop:nope:-dflt)s", "dflt")
        await self.check("%(prop:branch:-dflt)s", "main")
        await self.check("[%(prop:empty:-dflt)s]", "[]")
        await self.check("[%(prop:none:-dflt)s]", "[]")

    async def test_tilde(self):
        await self.check("%(prop:nope:~dflt)s", "dflt")
        await self.check("%(prop:empty:~dflt)s", "dflt")
        await self.check("%(prop:zero:~dflt)s", "dflt")
        await self.check("%(prop:branch:~dflt)s", "main")

    async def test_plus(self):
        await self.check("[%(prop:branch:+yes)s]", "[yes]")
        await self.check("[%(prop:empty:+yes)s]", "[yes]")
        await self.check("[%(prop:nope:+yes)s]", "[]")

    async def test_ternary(self):
        await self.check("%(prop:branch:?|T|F)s", "T")
        await self.check("%(prop:empty:?|T|F)s", "T")
        await self.check("%(prop:nope:?|T|F)s", "F")

    async def test_ternary_hash(self):
        await self.check("%(prop:branch:#?|T|F)s", "T")
        await self.check("%(prop:empty:#?|T|F)s", "F")
        await self.check("%(prop:zero:#?|T|F)s", "F")
        await self.check("%(prop:nope:#?|T|F)s", "F")

    async def test_ternary_other_delimiter_and_empty_parts(self):
        await self.check("%(prop:branch:?:yes:no)s", "yes")
        await self.check("[%(prop:nope:?||no)s]", "[no]")
        await self.check("[%(prop:branch:?|yes|)s]", "[yes]")

    async def test_nested_interpolation_in_replacement(self):
        await self.check("%(prop:nope:-b=%(prop:branch)s)s", "b=main")
        await self.check("%(prop:flag:?|on %(prop:word)s|off %(src::branch)s)s", "on w")
        await self.check("%(prop:nope:?|x|%(prop:missing:-y)s)s", "y")

    async def test_ternary_delimiter_inside_parens(self):
        await self.check("%(prop:nope:?|a|%(prop:x:-p|q)s)s", "p|q")

    async def test_operators_on_other_selectors(self):
        await self.check("%(src::branch:+has)s %(worker:os:?|L|W)s", "has L")
        await self.check("%(kw:a:#?|T|F)s", "F", a="")


class TestInterpolateErrors(InterpolateTestBase):
    def test_positional_and_keyword(self):
        self.assertConfigError(
            lambda: Interpolate("%s", "a", b="c"), "either positional or keyword"
        )

    def test_no_selector(self):
        self.assertConfigError(lambda: Interpolate("%(branch)s"), "without selector", "'branch'")

    def test_unknown_selector(self):
        self.assertConfigError(lambda: Interpolate("%(bogus:x)s"), "selector 'bogus'")

    def test_bad_names(self):
        self.assertConfigError(lambda: Interpolate("%(prop:a b)s"), "Property name", "prop")
        self.assertConfigError(lambda: Interpolate("%(kw:a/b)s"), "Keyword")
        self.assertConfigError(lambda: Interpolate("%(worker:a$)s"), "worker")
        self.assertConfigError(lambda: Interpolate("%(secret:a b)s"), "secret")
        self.assertConfigError(lambda: Interpolate("%(src:c b:branch)s"), "Codebase")
        self.assertConfigError(lambda: Interpolate("%(src::bra nch)s"), "Attribute")

    def test_good_names(self):
        Interpolate("%(prop:a.b-c_d9)s %(src:my-cb.x:branch)s %(kw:k_1)s")

    def test_src_needs_attribute(self):
        self.assertConfigError(lambda: Interpolate("%(src:cb)s"), "codebase and attribute")

    def test_bad_operator(self):
        self.assertConfigError(lambda: Interpolate("%(prop:x:*y)s"), "default type '*'")

    def test_bad_ternary(self):
        self.assertConfigError(lambda: Interpolate("%(prop:x:?|onlyone)s"), "ternary")
        self.assertConfigError(lambda: Interpolate("%(prop:x:?(a)(b))s"), "delimiter '('")
        self.assertConfigError(lambda: Interpolate("%(prop:x:?)s"), "ternary")

    def test_error_in_replacement(self):
        self.assertConfigError(lambda: Interpolate("%(prop:x:-%(bad:y)s)s"), "selector 'bad'")

    def test_malformed_format(self):
        self.assertConfigError(lambda: Interpolate("%(prop:x"), "format string")

    def test_errors_collected_while_loading(self):
        with config.capture_config_errors() as errors:
            Interpolate("%(bogus:x)s %(prop:a b)s")
            Interpolate("%s", 1, k=2)
        self.assertEqual(len(errors.errors), 3)

    def test_repr_and_equality(self):
        self.assertEqual(repr(Interpolate("%(prop:a)s")), "Interpolate('%(prop:a)s')")
        self.assertTrue(Interpolate("%s", "a") == Interpolate("%s", "a"))
        self.assertFalse(Interpolate("%s", "a") == Interpolate("%s", "b"))
        self.assertFalse(Interpolate("%(kw:a)s", a=1) == Interpolate("%(kw:a)s", a=2))


class TestWithProperties(InterpolateTestBase):
    async def render(self, wp):
        return await self.props.render(wp)

    async def test_positional(self):
        self.assertEqual(await self.render(WithProperties("%s/%s", "branch", "word")), "main/w")

    async def test_named(self):
        self.assertEqual(await self.render(WithProperties("%(branch)s-%(num)d")), "main-7")

    async def test_none_is_empty(self):
        self.assertEqual(await self.render(WithProperties("[%(none)s]")), "[]")

    async def test_missing_is_an_error(self):
        with self.assertRaises(KeyError) as cm:
            await self.render(WithProperties("%(nope)s"))
        self.assertIn("nope", str(cm.exception))

    async def test_operators(self):
        self.assertEqual(await self.render(WithProperties("%(nope:-d)s")), "d")
        self.assertEqual(await self.render(WithProperties("%(branch:-d)s")), "main")
        self.assertEqual(await self.render(WithProperties("%(empty:~d)s")), "d")
        self.assertEqual(await self.render(WithProperties("%(branch:~d)s")), "main")
        self.assertEqual(await self.render(WithProperties("%(branch:+y)s")), "y")
        self.assertEqual(await self.render(WithProperties("[%(nope:+y)s]")), "[]")

    async def test_lambdas(self):
        wp = WithProperties("%(up)s-%(branch)s", up=lambda props: props.getProperty("word") * 2)
        self.assertEqual(await self.render(wp), "ww-main")

    def test_both_is_an_error(self):
        with self.assertRaises(ValueError):
            WithProperties("%s", "a", b=lambda p: 1)

    def test_lambda_must_be_callable(self):
        with self.assertRaises(ValueError):
            WithProperties("%(a)s", a="notcallable")

    async def test_operator_renderable(self):
        self.assertEqual(await self.render(WithProperties("%(word)s") + "!"), "w!")
