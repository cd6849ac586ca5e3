"""ForceScheduler: its configuration, its form, and force() with every builder choice."""

from twisted.trial import unittest

from buildbot.schedulers.base import DisabledSchedulerError
from buildbot.schedulers.forcesched import (
    BuilderSelectionError,
    CodebaseParameter,
    ForceScheduler,
    IntParameter,
    StringParameter,
    ValidationError,
)
from buildbot.test import fakedb
from buildbot.test.unit.schedulers.test_base import Started, config_errors

EMAIL_OWNER = "Joe <joe@example.org>"


class ConfigTests(unittest.TestCase):
    def test_defaults(self):
        s = ForceScheduler("force", ["a", "b"])
        self.assertEqual((s.name, s.buttonName, s.label), ("force", "force", "force"))
        self.assertEqual(s.listBuilderNames(), ["a", "b"])
        self.assertEqual(s.reasonString, "A build was forced by '%(owner)s': %(reason)s")
        self.assertEqual(s.codebases, {"": {}})
        self.assertEqual(s.properties, {"scheduler": ("force", "Scheduler")})

    def test_keyword_name_and_labels(self):
        s = ForceScheduler(name="f", builderNames=["a"], buttonName="Go", label="Force it")
        self.assertEqual((s.name, s.buttonName, s.label), ("f", "Go", "Force it"))

    def test_all_fields_shape(self):
        fields = ForceScheduler("f", ["a"], codebases=["", "lib"]).getAllFieldsSpec()
        self.assertEqual([f["type"] for f in fields], ["nested"] * 3)
        group = fields[0]
        self.assertEqual((group["name"], group["fullName"]), ("", None))
        username, reason, priority = group["fields"]
        self.assertEqual(
            username,
            {
                "name": "username",
                "fullName": "username",
                "label": "Your name:",
                "tablabel": "Your name:",
                "type": "username",
                "default": "",
                "required": False,
                "multiple": False,
                "regex": None,
                "hide": False,
                "maxsize": None,
                "autopopulate": None,
                "tooltip": "",
                "need_email": True,
                "size": 30,
            },
        )
        self.assertEqual(
            (reason["fullName"], reason["type"], reason["default"], reason["size"]),
            ("reason", "text", "force build", 20),
        )
        self.assertEqual(
            (priority["fullName"], priority["type"], priority["default"]), ("priority", "int", 0)
        )
        self.assertEqual(
            [f["fullName"] for f in fields[1]["fields"]],
            ["branch", "project", "repository", "revision"],
        )
        self.assertEqual(fields[2]["fullName"], "lib")
        self.assertEqual(fields[2]["label"], "Codebase: lib")
        self.assertEqual(fields[2]["fields"][0]["fullName"], "lib_branch")

    def test_parameter_objects_accepted(self):
        prop = StringParameter("color")
        s = ForceScheduler("f", ["a"], reason=StringParameter("why"), properties=[prop])
        fields = s.getAllFieldsSpec()
        self.assertEqual(fields[0]["fields"][1], StringParameter("why").getSpec())
        self.assertEqual(fields[-1]["name"], "color")

    def test_bad_arguments_are_collected(self):
        errors = config_errors(
            lambda: ForceScheduler(
                "not an identifier",
                "a",
                username="joe",
                reasonString=3,
                buttonName=1,
                codebases=[],
                properties=[StringParameter("owner"), "x"],
                priority=StringParameter("priority"),
            )
        )
        self.assertEqual(len(errors), 10, errors)
        for word, error in zip(
            [
                # raised by the parameter itself
                "reserved",
                "identifier",
                "builderNames",
                "username",
                "IntParameter",
                "reasonString",
                "buttonName",
                "codebases",
                "reserved",
                "force parameters",
            ],
            errors,
            strict=True,
        ):
            self.assertIn(word, error)

    def test_properties_must_be_a_list(self):
        [error] = config_errors(lambda: ForceScheduler("f", ["a"], properties={"a": 1}))
        self.assertIn("list of force parameters", error)

    def test_name_too_long(self):
        self.assertEqual(len(config_errors(lambda: ForceScheduler("x" * 51, ["a"]))), 1)
        self.assertEqual(config_errors(lambda: ForceScheduler("x" * 50, ["a"])), [])

    def test_builder_names_must_be_plain_strings(self):
        from buildbot.test.unit.schedulers.test_base import Rendered

        self.assertEqual(len(config_errors(lambda: ForceScheduler("f", Rendered(["a"])))), 1)
        self.assertEqual(len(config_errors(lambda: ForceScheduler("f", ["a", 1]))), 1)

    def test_codebase_parameter_objects(self):
        self.assertEqual(
            len(
                config_errors(lambda: ForceScheduler("f", ["a"], codebases=[StringParameter("x")]))
            ),
            1,
        )
        s = ForceScheduler("f", ["a"], codebases=[CodebaseParameter("x"), "y"])
        self.assertEqual(s.codebases, {"x": {}, "y": {}})


class ForceTests(Started, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.master.db.insert_test_data(
            [
                fakedb.Builder(id=1, name="a"),
                fakedb.Builder(id=2, name="b"),
                fakedb.Builder(id=3, name="c"),
            ]
        )
        self.sched = await self.add(ForceScheduler("force", ["a", "b"]))

    def last_buildset(self):
        return self.updates.callsTo("addBuildset")[-1]

    async def test_all_builders_by_default(self):
        bsid, brids = await self.sched.force("me")
        call = self.last_buildset()
        self.assertEqual(call["builderids"], [1, 2])
        self.assertEqual(sorted(brids), [1, 2])
        self.assertEqual(call["scheduler"], "force")
        self.assertEqual(call["reason"], "A build was forced by 'me': force build")
        self.assertEqual(call["priority"], 0)
        self.assertEqual(
            call["properties"],
            {
                "reason": ("force build", "Force Build Form"),
                "owner": ("me", "Force Build Form"),
                "scheduler": ("force", "Scheduler"),
            },
        )
        self.assertEqual(
            call["sourcestamps"],
            [{"codebase": "", "repository": "", "branch": "", "revision": "", "project": ""}],
        )
        new = [k for k, _ in self.master.mq.productions if k == ("buildsets", str(bsid), "new")]
        self.assertEqual(len(new), 1)

    async def test_builder_names_intersected(self):
        await self.sched.force("me", builderNames=["b", "c"])
        self.assertEqual(self.last_buildset()["builderids"], [2])
        await self.sched.force("me", builderNames="a")
        self.assertEqual(self.last_buildset()["builderids"], [1])

    async def test_empty_intersection_is_an_error(self):
        for names in (["c"], [], ["zz"]):
            with self.assertRaises(BuilderSelectionError) as cm:
                await self.sched.force("me", builderNames=names)
            self.assertIsInstance(cm.exception, KeyError)
            self.assertEqual(str(cm.exception), "builderNames not specified or not supported")
        self.updates.assertNotCalled("addBuildset")

    async def test_builderid_int_or_numeric_string(self):
        await self.sched.force("me", builderid=2)
        self.assertEqual(self.last_buildset()["builderids"], [2])
        await self.sched.force("me", builderid="1")
        self.assertEqual(self.last_buildset()["builderids"], [1])

    async def test_builderid_errors(self):
        # not one of ours, unknown, not a number
        for builderid in (3, 99, "b", True, 1.5):
            with self.assertRaises(BuilderSelectionError, msg=repr(builderid)):
                await self.sched.force("me", builderid=builderid)
        self.updates.assertNotCalled("addBuildset")

    async def test_builderid_and_names_together(self):
        await self.sched.force("me", builderNames=["a", "b"], builderid=1)
        self.assertEqual(self.last_buildset()["builderids"], [1])
        with self.assertRaises(BuilderSelectionError):
            await self.sched.force("me", builderNames=["b"], builderid=1)

    async def test_form_values(self):
        bsid, _ = await self.sched.force(
            "me",
            reason=["tests"],
            priority="5",
            branch="main",
            revision="",
            repository=["git://r"],
            project="p",
        )
        call = self.last_buildset()
        self.assertEqual(call["reason"], "A build was forced by 'me': tests")
        self.assertEqual(call["priority"], 5)
        self.assertEqual(call["properties"]["reason"], ("tests", "Force Build Form"))
        self.assertEqual(
            call["sourcestamps"],
            [
                {
                    "codebase": "",
                    "repository": "git://r",
                    "branch": "main",
                    "revision": "",
                    "project": "p",
                }
            ],
        )
        bs = await self.master.data.get(("buildsets", bsid))
        self.assertEqual(bs["sourcestamps"][0]["branch"], "main")

    async def test_anonymous_owner_is_the_username(self):
        await self.sched.force("anonymous", username=EMAIL_OWNER)
        self.assertEqual(self.last_buildset()["properties"]["owner"][0], EMAIL_OWNER)
        await self.sched.force(None, username=EMAIL_OWNER)
        self.assertEqual(self.last_buildset()["properties"]["owner"][0], EMAIL_OWNER)
        # a logged-in owner wins over the form
        await self.sched.force("me", username=EMAIL_OWNER)
        self.assertEqual(self.last_buildset()["properties"]["owner"][0], "me")
        await self.sched.force(None)
        self.assertEqual(self.last_buildset()["properties"]["owner"][0], "anonymous")

    async def test_validation_errors_are_collected(self):
        with self.assertRaises(ValidationError) as cm:
            await self.sched.force("anonymous", username="joe", priority="high")
        self.assertEqual(sorted(cm.exception.errors), ["priority", "username"])
        self.assertEqual(cm.exception.message, cm.exception.errors)
        self.updates.assertNotCalled("addBuildset")

    async def test_disabled_scheduler_refuses(self):
        self.sched.enabled = False
        with self.assertRaises(DisabledSchedulerError):
            await self.sched.force("me")
        self.updates.assertNotCalled("addBuildset")

    async def test_disabled_through_the_data_api(self):
        await self.updates.schedulerEnable(self.sched.serviceid, False)
        from buildbot.util import eventual

        await eventual.flushEventualQueue()
        with self.assertRaises(DisabledSchedulerError):
            await self.sched.force("me")

    async def test_named_codebases(self):
        sched = await self.add(ForceScheduler("multi", ["a"], codebases=["", "lib"]))
        await sched.force("me", branch="main", lib_branch="dev", lib_repository="r2")
        by_codebase = {ss["codebase"]: ss for ss in self.last_buildset()["sourcestamps"]}
        self.assertEqual(by_codebase[""]["branch"], "main")
        self.assertEqual(
            (by_codebase["lib"]["branch"], by_codebase["lib"]["repository"]), ("dev", "r2")
        )

    async def test_parameter_objects_give_properties(self):
        class Tags(StringParameter):
            def getFromKwargs(self, kwargs):
                # the parameters receive every value as a list
                return ",".join(kwargs.get("tags", []))

        sched = await self.add(
            ForceScheduler(
                "custom",
                ["a"],
                reason=StringParameter("why", default="dunno"),
                properties=[StringParameter("color", default="red"), Tags("tags")],
                priority=IntParameter("priority", default=7),
            )
        )
        await sched.force("me", tags=["x", "y"])
        props = self.last_buildset()["properties"]
        self.assertEqual(props["color"], ("red", "Force Build Form"))
        self.assertEqual(props["tags"], ("x,y", "Force Build Form"))
        self.assertEqual(props["reason"], ("dunno", "Force Build Form"))
        self.assertEqual(self.last_buildset()["priority"], 7)
        await sched.force("me", why="because", color="blue")
        props = self.last_buildset()["properties"]
        self.assertEqual((props["reason"][0], props["color"][0]), ("because", "blue"))
