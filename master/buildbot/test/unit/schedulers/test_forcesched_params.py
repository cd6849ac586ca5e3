"""The force-form parameters: their specs (the JSON of `all_fields`), how they read
the submitted form, their validation errors, and what they give the force
pipeline (properties, sourcestamps, changes)."""

import json
import re

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.process.builder import Builder
from buildbot.process.buildrequest import BuildRequest
from buildbot.process.factory import BuildFactory
from buildbot.process.workerforbuilder import WorkerForBuilder
from buildbot.schedulers import forceparams
from buildbot.schedulers.forcesched import (
    AnyPropertyParameter,
    BaseParameter,
    BooleanParameter,
    ChoiceStringParameter,
    CodebaseParameter,
    FileParameter,
    FixedParameter,
    ForceScheduler,
    InheritBuildParameter,
    IntParameter,
    NestedParameter,
    ParameterGroup,
    PatchParameter,
    StringParameter,
    TextParameter,
    UserNameParameter,
    ValidationError,
    ValidationErrorCollector,
    WorkerChoiceParameter,
    enforceChosenWorker,
)
from buildbot.test import fakedb
from buildbot.test.unit.schedulers.test_base import Started, config_errors
from buildbot.worker import Worker

COMMON = {
    "default": "",
    "required": False,
    "multiple": False,
    "regex": None,
    "hide": False,
    "maxsize": None,
    "autopopulate": None,
    "tooltip": "",
}


def spec(name, type, full_name=None, label=None, **extra):
    label = name if label is None else label
    return {
        "name": name,
        "fullName": name if full_name is None else full_name,
        "label": label,
        "tablabel": label,
        "type": type,
        **COMMON,
        **extra,
    }


def update(param, kwargs, **extra):
    """Run the param's updateFromKwargs as the force pipeline does: (properties,
    sourcestamps, changes, errors)."""
    collector = ValidationErrorCollector()
    properties, sourcestamps, changes = {}, {}, []
    d = collector.collectValidationErrors(
        param.fullName,
        param.updateFromKwargs,
        properties=properties,
        sourcestamps=sourcestamps,
        changes=changes,
        kwargs=kwargs,
        collector=collector,
        **extra,
    )
    return defer.ensureDeferred(d).addCallback(
        lambda _: (properties, sourcestamps, changes, collector.errors)
    )


def error_of(fn, *args):
    try:
        fn(*args)
    except ValidationError as e:
        return str(e)
    raise AssertionError("no ValidationError")


class SpecTests(unittest.TestCase):
    def test_simple_types(self):
        self.assertEqual(StringParameter("s").getSpec(), spec("s", "text", size=10))
        self.assertEqual(
            TextParameter("t").getSpec(), spec("t", "textarea", size=10, cols=80, rows=20)
        )
        self.assertEqual(IntParameter("i").getSpec(), {**spec("i", "int", size=10), "default": 0})
        self.assertEqual(BooleanParameter("b").getSpec(), spec("b", "bool"))
        self.assertEqual(
            ChoiceStringParameter("c", choices=["x", "y"]).getSpec(),
            spec("c", "list", choices=["x", "y"], strict=True),
        )
        self.assertEqual(
            FixedParameter("f", default="v").getSpec(),
            {**spec("f", "fixed"), "default": "v", "hide": True},
        )
        self.assertEqual(
            FileParameter("file").getSpec(), {**spec("file", "file"), "maxsize": 10 * 1024 * 1024}
        )
        self.assertEqual(BaseParameter("base").getSpec(), spec("base", ""))

    def test_username(self):
        self.assertEqual(
            UserNameParameter().getSpec(),
            spec("username", "username", label="Your name:", size=30, need_email=True),
        )
        u = UserNameParameter(label="Who", need_email=False, size=40)
        self.assertEqual((u.label, u.need_email, u.getSpec()["size"]), ("Who", False, 40))

    def test_labels_regex_and_extra_attributes(self):
        p = StringParameter(
            "s", label="L", tablabel="T", regex=r"^a+$", required=True, color="red", tooltip="t"
        )
        got = p.getSpec()
        self.assertEqual((got["label"], got["tablabel"], got["regex"]), ("L", "T", "^a+$"))
        self.assertEqual((got["required"], got["tooltip"]), (True, "t"))
        # a keyword is an attribute, but only the known ones are in the spec
        self.assertEqual(p.color, "red")
        self.assertNotIn("color", got)
        self.assertEqual(StringParameter("s", label="L").tablabel, "L")
        self.assertEqual(StringParameter("s", regex=re.compile("x")).getSpec()["regex"], "x")
        json.dumps(got)

    def test_config_errors(self):
        errors = config_errors(lambda: StringParameter("s", value="v"))
        self.assertEqual(
            errors, ["Use default='v' instead of value=... to give a default Parameter value"]
        )
        for name in ("owner", "builderNames", "builderid"):
            [error] = config_errors(lambda n=name: StringParameter(n))
            self.assertEqual(
                error, f"{name} cannot be used as a parameter name, because it is reserved"
            )
        self.assertIn("bad regex", config_errors(lambda: StringParameter("s", regex="("))[0])
        self.assertIn("must be a str", config_errors(lambda: StringParameter(3))[0])
        self.assertIn("not a parameter", config_errors(lambda: NestedParameter("n", ["x"]))[0])

    def test_nested_full_names(self):
        inner = NestedParameter("m", fields=[IntParameter("i")])
        outer = NestedParameter("n", fields=[StringParameter("a"), inner], columns=3)
        got = outer.getSpec()
        self.assertEqual(
            {k: got[k] for k in ("type", "fullName", "layout", "columns")},
            {"type": "nested", "fullName": "n", "layout": "vertical", "columns": 3},
        )
        self.assertEqual([f["fullName"] for f in got["fields"]], ["n_a", "n_m"])
        self.assertEqual(got["fields"][1]["fields"][0]["fullName"], "n_m_i")
        self.assertEqual(got["fields"][1]["columns"], 1)
        # a group in a group without a name keeps the plain names
        top = NestedParameter("", fields=[StringParameter("a")])
        self.assertEqual((top.fullName, top.fields[0].fullName), (None, "a"))

    def test_nested_columns_default(self):
        def columns(n):
            return NestedParameter("n", [StringParameter(f"a{i}") for i in range(n)]).columns

        self.assertEqual([columns(n) for n in range(7)], [1, 1, 1, 1, 2, 2, 2])

    def test_parameter_group_is_a_nested_parameter(self):
        g = ParameterGroup("g", fields=[StringParameter("x")], layout="tabs")
        self.assertIsInstance(g, NestedParameter)
        self.assertEqual((g.getSpec()["layout"], g.fields[0].fullName), ("tabs", "g_x"))

    def test_any_property(self):
        got = AnyPropertyParameter("any").getSpec()
        self.assertEqual((got["type"], got["label"], got["fullName"]), ("nested", "", "any"))
        self.assertEqual(
            [(f["fullName"], f["label"], f["type"]) for f in got["fields"]],
            [("any_name", "Name:", "text"), ("any_value", "Value:", "text")],
        )
        self.assertEqual(AnyPropertyParameter("any", label="More").label, "More")

    def test_codebase_defaults(self):
        got = CodebaseParameter("").getSpec()
        self.assertEqual((got["name"], got["fullName"], got["label"]), ("", None, ""))
        self.assertEqual(got["columns"], 2)
        self.assertEqual(
            [(f["fullName"], f["label"]) for f in got["fields"]],
            [
                ("branch", "Branch:"),
                ("project", "Project:"),
                ("repository", "Repository:"),
                ("revision", "Revision:"),
            ],
        )
        lib = CodebaseParameter("lib")
        self.assertEqual((lib.fullName, lib.label, lib.codebase), ("lib", "Codebase: lib", "lib"))
        self.assertEqual(lib.fields[0].fullName, "lib_branch")
        named = CodebaseParameter("lib", name="other", label="Other")
        self.assertEqual((named.fullName, named.label, named.codebase), ("other", "Other", "lib"))

    def test_codebase_field_forms(self):
        mine = ChoiceStringParameter("branch", choices=["main", "dev"])
        c = CodebaseParameter("x", branch=mine, revision=None, project="p")
        self.assertEqual(
            [type(f) for f in c.fields], [ChoiceStringParameter, FixedParameter, StringParameter]
        )
        self.assertIs(c.fields[0], mine)
        self.assertEqual((c.fields[0].fullName, c.fields[1].default), ("x_branch", "p"))
        self.assertEqual(c.columns, 1)
        self.assertEqual(len(config_errors(lambda: CodebaseParameter("x", branch=3))), 1)

    def test_codebase_patch(self):
        c = CodebaseParameter("lib", patch=PatchParameter())
        got = c.getSpec()
        self.assertEqual(got["columns"], 1)
        patch = got["fields"][-1]
        self.assertEqual((patch["fullName"], patch["type"]), ("lib_patch", "nested"))
        self.assertEqual(
            [(f["fullName"], f["type"], f["default"]) for f in patch["fields"]],
            [
                ("lib_patch_body", "file", ""),
                ("lib_patch_level", "int", 1),
                ("lib_patch_author", "text", ""),
                ("lib_patch_comment", "text", ""),
                ("lib_patch_subdir", "text", "."),
            ],
        )
        errors = config_errors(lambda: CodebaseParameter("x", patch=StringParameter("p")))
        self.assertEqual(errors, ["patch parameter of a codebase must be named 'patch'"])
        errors = config_errors(lambda: CodebaseParameter("x", patch=PatchParameter(name="p")))
        self.assertEqual(len(errors), 1)

    def test_patch_fields_replaceable(self):
        p = PatchParameter(level=IntParameter("level", default=3), subdir=None, label="Patch")
        self.assertEqual([(f.name, f.default) for f in p.fields][:2], [("body", ""), ("level", 3)])
        self.assertEqual([f.name for f in p.fields], ["body", "level", "author", "comment"])
        self.assertEqual((p.name, p.label, p.columns), ("patch", "Patch", 1))

    def test_choice_like_parameters(self):
        w = WorkerChoiceParameter().getSpec()
        self.assertEqual(
            {k: w[k] for k in ("name", "type", "choices", "strict")},
            {"name": "workername", "type": "list", "choices": [], "strict": False},
        )
        self.assertEqual(WorkerChoiceParameter("w", label="On").getSpec()["label"], "On")
        i = InheritBuildParameter("inh", compatible_builds=lambda m, b: []).getSpec()
        self.assertEqual((i["type"], i["choices"], i["strict"]), ("list", [], True))

    def test_scheduler_serves_every_spec_as_json(self):
        params = [
            StringParameter("s"),
            TextParameter("t"),
            IntParameter("i"),
            BooleanParameter("b"),
            ChoiceStringParameter("c", choices=["a"], default="a"),
            FixedParameter("f", default="v"),
            FileParameter("file"),
            NestedParameter("n", [StringParameter("a", regex="^a")]),
            AnyPropertyParameter("any"),
            InheritBuildParameter("inh"),
            WorkerChoiceParameter(),
        ]
        s = ForceScheduler(
            "f", ["a"], codebases=[CodebaseParameter("", patch=PatchParameter())], properties=params
        )
        got = json.loads(json.dumps(s.getAllFieldsSpec()))
        self.assertEqual([f["name"] for f in got[2:]], [p.name for p in params])
        self.assertEqual(got[2 + 7]["fields"][0]["regex"], "^a")


class FromKwargsTests(unittest.TestCase):
    def test_string(self):
        p = StringParameter("s", default="d")
        self.assertEqual(p.getFromKwargs({}), "d")
        self.assertEqual(p.getFromKwargs({"s": [""]}), "d")
        self.assertEqual(p.getFromKwargs({"s": ["a", "b"]}), "a")
        self.assertEqual(p.getFromKwargs({"s": "scalar"}), "scalar")
        self.assertEqual(p.parse_from_arg("x"), "x")

    def test_multiple(self):
        p = StringParameter("s", multiple=True)
        self.assertEqual(p.getFromKwargs({"s": ["a", "", "b"]}), ["a", "b"])
        self.assertEqual(p.getFromKwargs({}), [])
        self.assertEqual(StringParameter("s", multiple=True, default="x").getFromKwargs({}), ["x"])
        self.assertEqual(
            StringParameter("s", multiple=True, default=("x", "y")).getFromKwargs({}), ["x", "y"]
        )
        self.assertEqual(IntParameter("i", multiple=True).getFromKwargs({"i": ["1", 2]}), [1, 2])

    def test_required(self):
        p = StringParameter("s", label="Thing", required=True)
        for kwargs in ({}, {"s": []}, {"s": [""]}):
            self.assertEqual(error_of(p.getFromKwargs, kwargs), "'Thing' needs to be specified")
        self.assertEqual(p.getFromKwargs({"s": ["v"]}), "v")
        b = BooleanParameter("b", required=True)
        self.assertEqual(error_of(b.getFromKwargs, {}), "'b' needs to be specified")
        self.assertFalse(b.getFromKwargs({"b": [False]}))

    def test_int(self):
        p = IntParameter("i")
        self.assertEqual(p.getFromKwargs({}), 0)
        self.assertEqual(p.getFromKwargs({"i": [""]}), 0)
        self.assertEqual(p.getFromKwargs({"i": ["12"]}), 12)
        self.assertEqual(p.getFromKwargs({"i": [7]}), 7)
        with self.assertRaises(ValueError) as cm:
            p.getFromKwargs({"i": ["x"]})
        self.assertIn("invalid literal for int()", str(cm.exception))

    def test_boolean(self):
        p = BooleanParameter("b")
        self.assertIs(p.getFromKwargs({}), False)
        self.assertIs(BooleanParameter("b", default=True).getFromKwargs({}), True)
        for value in (True, "true", "True", "on", "1", 1):
            self.assertIs(p.getFromKwargs({"b": [value]}), True, value)
        for value in (False, "false", "off", "0", 0, "x"):
            self.assertIs(p.getFromKwargs({"b": [value]}), False, value)

    def test_choices(self):
        p = ChoiceStringParameter("c", choices=["a", "b"], default="a")
        self.assertEqual(p.getFromKwargs({}), "a")
        self.assertEqual(p.getFromKwargs({"c": ["b"]}), "b")
        self.assertEqual(
            error_of(p.getFromKwargs, {"c": ["z"]}),
            "'z' does not belong to list of available choices '['a', 'b']'",
        )
        # a default outside the choices is refused too
        self.assertIn(
            "'' does not belong",
            error_of(ChoiceStringParameter("c", choices=["a"]).getFromKwargs, {}),
        )
        loose = ChoiceStringParameter("c", choices=["a"], strict=False)
        self.assertEqual(loose.getFromKwargs({"c": ["z"]}), "z")
        many = ChoiceStringParameter("c", choices=["a", "b"], multiple=True)
        self.assertEqual(many.getFromKwargs({"c": ["a", "b"]}), ["a", "b"])
        self.assertEqual(many.getFromKwargs({}), [])
        self.assertIn("'z' does not belong", error_of(many.getFromKwargs, {"c": ["a", "z"]}))
        self.assertEqual(p.getChoices(None, None, "b"), ["a", "b"])

    def test_username(self):
        p = UserNameParameter()
        self.assertEqual(p.getFromKwargs({}), "")
        for good in ("Joe <joe@example.org>", "joe@example.org"):
            self.assertEqual(p.getFromKwargs({"username": [good]}), good)
        for bad in ("joe", "Joe <joe@localhost>"):
            self.assertEqual(
                error_of(p.getFromKwargs, {"username": [bad]}),
                "username: please fill in email address in the form 'User <email@email.com>'",
            )
        self.assertEqual(UserNameParameter(need_email=False).parse_from_arg("joe"), "joe")

    def test_regex(self):
        p = StringParameter("s", label="S", regex=r"^a+$", default="a")
        self.assertEqual(p.getFromKwargs({"s": ["aa"]}), "aa")
        self.assertEqual(p.getFromKwargs({}), "a")
        self.assertEqual(
            error_of(p.getFromKwargs, {"s": ["b"]}), "S:'b' does not match pattern '^a+$'"
        )
        # the default is checked too
        self.assertIn("''", error_of(StringParameter("s", regex="^a").getFromKwargs, {}))
        many = StringParameter("s", regex="^a", multiple=True)
        self.assertIn("'b'", error_of(many.getFromKwargs, {"s": ["a", "b"]}))

    def test_file(self):
        p = FileParameter("f", maxsize=5)
        self.assertEqual(p.getFromKwargs({"f": ["abc"]}), "abc")
        self.assertEqual(p.getFromKwargs({"f": [b"abcde"]}), b"abcde")
        self.assertEqual(error_of(p.getFromKwargs, {"f": ["abcdef"]}), "f: is too large 6 > 5")

    def test_fixed_ignores_the_form(self):
        self.assertEqual(FixedParameter("f", default="v").getFromKwargs({"f": ["other"]}), "v")

    def test_text(self):
        self.assertEqual(TextParameter("t").getFromKwargs({"t": ["a\nb"]}), "a\nb")

    def test_nested_has_no_value_of_its_own(self):
        self.assertEqual(NestedParameter("n", []).getFromKwargs({"n": ["x"]}), "")

    def test_validation_error_forms(self):
        e = ValidationError("bad")
        self.assertEqual((e.message, e.errors, str(e)), ("bad", {}, "bad"))
        e = ValidationError({"a": "x", "b": "y"})
        self.assertEqual((e.message, str(e)), ({"a": "x", "b": "y"}, "a:x\nb:y"))
        self.assertIsInstance(e, ValueError)


class UpdateTests(unittest.TestCase):
    async def test_simple_property(self):
        props, _, _, errors = await update(StringParameter("s"), {"s": ["v"]})
        self.assertEqual((props, errors), ({"s": "v"}, {}))
        props, _, _, _ = await update(FixedParameter("f", default="d"), {})
        self.assertEqual(props, {"f": "d"})

    async def test_nested_gives_a_dict(self):
        n = NestedParameter(
            "n",
            fields=[
                StringParameter("a"),
                IntParameter("i"),
                NestedParameter("m", fields=[StringParameter("z")]),
            ],
        )
        props, _, _, errors = await update(n, {"n_a": ["x"], "n_i": ["2"], "n_m_z": ["zz"]})
        self.assertEqual(errors, {})
        self.assertEqual(props, {"n": {"a": "x", "i": 2, "m": {"z": "zz"}}})

    async def test_nameless_group_gives_its_children(self):
        n = NestedParameter("", fields=[StringParameter("a"), IntParameter("i")])
        props, _, _, _ = await update(n, {"a": ["x"], "i": ["3"]})
        self.assertEqual(props, {"a": "x", "i": 3})

    async def test_errors_by_full_name(self):
        n = NestedParameter(
            "n",
            fields=[
                StringParameter("a", required=True),
                IntParameter("i"),
                ChoiceStringParameter("c", choices=["x"], default="x"),
                NestedParameter("m", fields=[StringParameter("r", regex="^r$")]),
            ],
        )
        _, _, _, errors = await update(n, {"n_i": ["y"], "n_c": ["q"], "n_m_r": ["s"]})
        self.assertEqual(
            errors,
            {
                "n_a": "'a' needs to be specified",
                "n_i": "invalid literal for int() with base 10: 'y'",
                "n_c": "'q' does not belong to list of available choices '['x']'",
                "n_m_r": "r:'s' does not match pattern '^r$'",
            },
        )

    async def test_any_property(self):
        p = AnyPropertyParameter("any")
        props, _, _, errors = await update(p, {"any_name": ["foo"], "any_value": ["bar"]})
        self.assertEqual((props, errors), ({"foo": "bar"}, {}))
        props, _, _, errors = await update(p, {"any_value": ["bar"]})
        self.assertEqual((props, errors), ({}, {}))
        _, _, _, errors = await update(p, {"any_name": ["bad name!"], "any_value": ["v"]})
        self.assertEqual(errors, {"any": "bad property name='bad name!', value='v'"})
        _, _, _, errors = await update(p, {"any_name": ["ok"], "any_value": ["bad value!"]})
        self.assertEqual(errors, {"any": "bad property name='ok', value='bad value!'"})

    async def test_any_property_follows_the_master_validation(self):
        class Config:
            validation = {"property_name": re.compile("^p"), "property_value": re.compile(".*")}

        class Master:
            config = Config()

        p = AnyPropertyParameter("any")
        props, _, _, errors = await update(
            p, {"any_name": ["px"], "any_value": ["any thing!"]}, master=Master()
        )
        self.assertEqual((props, errors), ({"px": "any thing!"}, {}))
        _, _, _, errors = await update(p, {"any_name": ["x"], "any_value": ["v"]}, master=Master())
        self.assertEqual(list(errors), ["any"])

    async def test_codebase_sourcestamp(self):
        c = CodebaseParameter("lib", branch="fixed", revision=None)
        props, ss, _, errors = await update(
            c, {"lib_branch": ["ignored"], "lib_repository": ["r"], "lib_project": ["p"]}
        )
        self.assertEqual((props, errors), ({}, {}))
        self.assertEqual(ss, {"lib": {"branch": "fixed", "project": "p", "repository": "r"}})

    async def test_codebase_with_replaced_field(self):
        c = CodebaseParameter("", branch=StringParameter("br"))
        _, ss, _, _ = await update(c, {"br": ["dev"], "revision": ["abc"]})
        self.assertEqual(
            ss, {"": {"branch": "dev", "project": "", "repository": "", "revision": "abc"}}
        )

    async def test_codebase_errors(self):
        c = CodebaseParameter("lib", revision=StringParameter("revision", regex="^[0-9a-f]*$"))
        _, _, _, errors = await update(c, {"lib_revision": ["xyz"]})
        self.assertEqual(list(errors), ["lib_revision"])

    async def test_patch_in_a_codebase(self):
        c = CodebaseParameter("lib", name="src", patch=PatchParameter())
        _, ss, _, errors = await update(
            c, {"src_patch_body": ["diff"], "src_patch_level": ["2"], "src_branch": ["b"]}
        )
        self.assertEqual(errors, {})
        self.assertEqual(
            ss,
            {
                "lib": {
                    "branch": "b",
                    "project": "",
                    "repository": "",
                    "revision": "",
                    "patch_body": "diff",
                    "patch_level": 2,
                    "patch_author": "",
                    "patch_comment": "",
                    "patch_subdir": ".",
                }
            },
        )
        _, _, _, errors = await update(c, {"src_patch_level": ["x"]})
        self.assertEqual(list(errors), ["src_patch_level"])

    async def test_worker_choice(self):
        w = WorkerChoiceParameter()
        props, _, _, _ = await update(w, {"workername": ["w1"]})
        self.assertEqual(props, {"workername": "w1"})
        props, _, _, _ = await update(w, {"workername": ["-any-"]})
        self.assertEqual(props, {})
        props, _, _, _ = await update(w, {})
        self.assertEqual(props, {"workername": ""})

    async def test_worker_choices(self):
        class Config:
            builders = [
                BuilderConfig(name="a", workernames=["w2", "w1"], factory=BuildFactory()),
                BuilderConfig(name="b", workernames=["w3", "w1"], factory=BuildFactory()),
            ]

        class Master:
            config = Config()

        sched = ForceScheduler("f", ["a", "b"])
        w = WorkerChoiceParameter()
        self.assertEqual(await w.getChoices(Master(), sched, "a"), ["-any-", "w1", "w2"])
        self.assertEqual(await w.getChoices(Master(), sched, None), ["-any-", "w1", "w2", "w3"])
        self.assertEqual(await w.getChoices(None, sched, "a"), ["-any-"])

    async def test_collector_keeps_plain_value_errors(self):
        def fails():
            raise ValueError("nope")

        collector = ValidationErrorCollector()
        self.assertIsNone(await collector.collectValidationErrors("f", fails))
        self.assertEqual(await collector.collectValidationErrors("g", lambda: 3), 3)
        self.assertEqual(collector.errors, {"f": "nope"})
        with self.assertRaises(ValidationError) as cm:
            collector.maybeRaise()
        self.assertEqual(cm.exception.errors, {"f": "nope"})
        ValidationErrorCollector().maybeRaise()

        def fails_many():
            raise ValidationError({"x_a": "bad a", "x_b": "bad b"})

        await collector.collectValidationErrors("x", fails_many)
        self.assertEqual(collector.errors, {"f": "nope", "x_a": "bad a", "x_b": "bad b"})


class EnforceChosenWorkerTests(unittest.TestCase):
    def request(self, **props):
        breq = BuildRequest()
        for name, value in props.items():
            breq.properties.setProperty(name, value, "Force Build Form")
        return breq

    def test_function(self):
        class W:
            workername = "w1"

        class WFB:
            worker = W()

        self.assertTrue(enforceChosenWorker(None, WFB(), self.request(workername="w1")))
        self.assertFalse(enforceChosenWorker(None, WFB(), self.request(workername="w2")))
        for props in ({}, {"workername": ""}, {"workername": "-any-"}):
            self.assertTrue(enforceChosenWorker(None, WFB(), self.request(**props)), props)

    async def test_as_a_builders_can_start_build(self):
        builder = Builder("b")
        builder.config = BuilderConfig(
            name="b",
            workernames=["w1", "w2"],
            factory=BuildFactory(),
            canStartBuild=enforceChosenWorker,
        )
        w1, w2 = (WorkerForBuilder(builder, Worker(n, "pw")) for n in ("w1", "w2"))
        chosen = self.request(workername="w2")
        self.assertFalse(await builder.canStartBuild(w1, chosen))
        self.assertTrue(await builder.canStartBuild(w2, chosen))
        self.assertTrue(await builder.canStartBuild(w1, self.request()))


class InheritBuildTests(Started, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data(
            [
                fakedb.Builder(id=1, name="a"),
                fakedb.Worker(id=1, name="w1"),
                fakedb.SourceStamp(id=20, branch="main", revision="abc", repository="r"),
                fakedb.SourceStamp(id=21, branch="dev", revision="def", repository="r"),
                fakedb.Change(changeid=5, sourcestampid=21, branch="dev", revision="def"),
                fakedb.Buildset(id=10),
                fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=20),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=1),
                fakedb.Build(
                    id=12, number=1, builderid=1, buildrequestid=11, workerid=1, masterid=824
                ),
                fakedb.BuildProperty(
                    buildid=12, name="color", value='"red"', source="Force Build Form"
                ),
                fakedb.BuildProperty(buildid=12, name="got", value='"x"', source="Step"),
                fakedb.Buildset(id=30),
                fakedb.BuildsetSourceStamp(buildsetid=30, sourcestampid=21),
                fakedb.BuildRequest(id=31, buildsetid=30, builderid=1),
                fakedb.Build(
                    id=32, number=2, builderid=1, buildrequestid=31, workerid=1, masterid=824
                ),
            ]
        )
        self.param = InheritBuildParameter(
            "inherit", compatible_builds=lambda master, name: [f"{name}/1", f"{name}/2"]
        )

    async def test_choices(self):
        self.assertEqual(await self.param.getChoices(self.master, None, "a"), ["a/1", "a/2"])
        self.assertEqual(await InheritBuildParameter("i").getChoices(self.master, None, "a"), [])

    async def test_without_changes_the_sourcestamps(self):
        props, ss, changes, errors = await update(
            self.param, {"inherit": ["a/1"]}, master=self.master
        )
        self.assertEqual(errors, {})
        self.assertEqual(props, {"color": "red"})
        self.assertEqual(changes, [])
        self.assertEqual(
            ss, {"": {"branch": "main", "revision": "abc", "repository": "r", "project": "proj"}}
        )

    async def test_with_changes(self):
        props, ss, changes, errors = await update(
            self.param, {"inherit": ["a/2"]}, master=self.master
        )
        self.assertEqual((props, ss, changes, errors), ({}, {}, [5], {}))

    async def test_bad_builds(self):
        for value in ("", "a", "a/x", "a/9", "zz/1"):
            _, _, _, errors = await update(self.param, {"inherit": [value]}, master=self.master)
            self.assertEqual(errors, {"inherit": f"bad build: {value}"}, value)

    async def test_forced_build_reuses_the_changes(self):
        sched = await self.add(ForceScheduler("f", ["a"], properties=[self.param]))
        await sched.force("me", inherit="a/2")
        call = self.master.data.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["sourcestamps"], [21])
        await sched.force("me", inherit="a/1")
        call = self.master.data.updates.callsTo("addBuildset")[-1]
        self.assertEqual(call["properties"]["color"], ("red", "Force Build Form"))
        self.assertEqual(call["sourcestamps"][0]["revision"], "abc")


class ForceWithParametersTests(Started, unittest.TestCase):
    """The force pipeline with parameters of every kind."""

    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data([fakedb.Builder(id=1, name="a")])

    def last_buildset(self):
        return self.updates.callsTo("addBuildset")[-1]

    async def test_properties_from_every_kind(self):
        sched = await self.add(
            ForceScheduler(
                "f",
                ["a"],
                properties=[
                    NestedParameter("n", [StringParameter("s"), IntParameter("i")]),
                    ParameterGroup("", [BooleanParameter("flag")]),
                    AnyPropertyParameter("extra"),
                    ChoiceStringParameter("c", choices=["x", "y"], default="x"),
                    TextParameter("notes"),
                    FixedParameter("fixed", default=3),
                    WorkerChoiceParameter(),
                ],
            )
        )
        await sched.force(
            "me",
            n_s="v",
            n_i=["4"],
            flag=[True],
            extra_name="k",
            extra_value="w",
            c="y",
            notes="long\ntext",
            workername="-any-",
        )
        props = {k: v for k, (v, _) in self.last_buildset()["properties"].items()}
        self.assertEqual(
            props,
            {
                "n": {"s": "v", "i": 4},
                "flag": True,
                "k": "w",
                "c": "y",
                "notes": "long\ntext",
                "fixed": 3,
                "reason": "force build",
                "owner": "me",
                "scheduler": "f",
            },
        )

    async def test_every_error_at_once(self):
        sched = await self.add(
            ForceScheduler(
                "f",
                ["a"],
                reason=StringParameter("reason", required=True),
                properties=[
                    NestedParameter("n", [IntParameter("i"), StringParameter("s", regex="^s")]),
                    ChoiceStringParameter("c", choices=["x"], default="x"),
                    FileParameter("file", maxsize=2),
                    AnyPropertyParameter("extra"),
                ],
                codebases=[CodebaseParameter("", patch=PatchParameter())],
            )
        )
        with self.assertRaises(ValidationError) as cm:
            await sched.force(
                "anonymous",
                username="joe",
                priority="high",
                n_i="one",
                n_s="t",
                c="z",
                file="abc",
                extra_name="a b",
                patch_level="x",
            )
        self.assertEqual(
            sorted(cm.exception.errors),
            ["c", "extra", "file", "n_i", "n_s", "patch_level", "priority", "reason", "username"],
        )
        self.assertEqual(cm.exception.message, cm.exception.errors)
        self.updates.assertNotCalled("addBuildset")

    async def test_patch_makes_a_sourcestamp_patch(self):
        sched = await self.add(
            ForceScheduler("f", ["a"], codebases=[CodebaseParameter("", patch=PatchParameter())])
        )
        bsid, _ = await sched.force(
            "me",
            branch="main",
            patch_body="--- a\n+++ b\n",
            patch_level="2",
            patch_author="joe",
            patch_comment="fix",
        )
        [ss] = self.last_buildset()["sourcestamps"]
        self.assertEqual(
            {k: v for k, v in ss.items() if k.startswith("patch_")},
            {
                "patch_body": "--- a\n+++ b\n",
                "patch_level": 2,
                "patch_author": "joe",
                "patch_comment": "fix",
                "patch_subdir": ".",
            },
        )
        bs = await self.master.data.get(("buildsets", bsid))
        patch = bs["sourcestamps"][0]["patch"]
        self.assertEqual((patch["level"], patch["author"], patch["comment"]), (2, "joe", "fix"))
        # no body, no patch
        await sched.force("me", patch_author="joe")
        [ss] = self.last_buildset()["sourcestamps"]
        self.assertNotIn("patch_author", ss)

    async def test_codebases_with_fixed_and_removed_fields(self):
        sched = await self.add(
            ForceScheduler(
                "f",
                ["a"],
                codebases=[
                    CodebaseParameter("app", branch="release", project=None),
                    CodebaseParameter("lib", repository="git://lib", revision=None),
                ],
            )
        )
        self.assertEqual(sched.codebases, {"app": {}, "lib": {}})
        await sched.force("me", app_branch="ignored", app_revision="r1", lib_branch="dev")
        by_codebase = {ss["codebase"]: ss for ss in self.last_buildset()["sourcestamps"]}
        self.assertEqual(
            by_codebase["app"],
            {
                "codebase": "app",
                "branch": "release",
                "revision": "r1",
                "repository": "",
                "project": "",
            },
        )
        self.assertEqual(
            by_codebase["lib"],
            {
                "codebase": "lib",
                "branch": "dev",
                "revision": "",
                "repository": "git://lib",
                "project": "",
            },
        )

    async def test_module_reexports(self):
        from buildbot.schedulers import forcesched

        for name in forceparams.__dict__:
            if name.endswith("Parameter") or name in ("ParameterGroup", "enforceChosenWorker"):
                self.assertIs(getattr(forcesched, name), getattr(forceparams, name), name)
