"""The deprecated root link list and `/application.spec`."""

from twisted.trial import unittest

from buildbot.data.spec import (
    connector_resolver,
    entity_type_name,
    field_type_name,
    field_type_spec,
    type_spec,
)
from buildbot.test.util import dataapi


class Tests(dataapi.DataMixin):
    async def test_rootlinks(self):
        links = await self.data.get(())
        names = [link["name"] for link in links]
        self.assertEqual(names, sorted(set(names)))
        for name in ["builders", "builds", "projects", "codebases", "masters"]:
            self.assertIn(name, names)
        # sub-collections are not root links; the reference's list has logchunks
        # (which answers 404) but not test_result_sets
        self.assertNotIn("commits", names)
        self.assertIn("logchunks", names)
        self.assertNotIn("test_result_sets", names)
        self.assertEqual(self.data.getResourceType("rootlink").plural, "rootlinks")

    async def test_application_spec(self):
        specs = list(await self.data.get(("application.spec",)))
        by_path = {s["path"]: s for s in specs}
        self.assertEqual(len(by_path), len(specs))
        self.assertEqual(sorted(by_path), [s["path"] for s in specs])
        for path in [
            "builds/n:buildid",
            "codebases/n:codebaseid/commits",
            "application.spec",
            "",
        ]:
            self.assertIn(path, by_path)
        commit = by_path["commits/n:commitid"]
        self.assertEqual((commit["type"], commit["plural"]), ("commit", "commits"))
        self.assertEqual(commit["type_spec"]["type"], "commit")
        fields = {f["name"]: f for f in commit["type_spec"]["fields"]}
        self.assertEqual(
            fields["parent_commitid"],
            {
                "name": "parent_commitid",
                "type": "integer or None",
                "type_spec": {"name": "integer", "can_be_null": True},
            },
        )
        self.assertEqual(
            set(fields),
            {
                "commitid",
                "codebaseid",
                "author",
                "committer",
                "comments",
                "when_timestamp",
                "revision",
                "parent_commitid",
            },
        )
        # nested entities are described by their own fields, recursively
        change = {f["name"]: f for f in by_path["changes"]["type_spec"]["fields"]}
        sourcestamp = change["sourcestamp"]
        self.assertEqual(sourcestamp["type"], "sourcestamp")
        ss_fields = {f["name"]: f for f in sourcestamp["type_spec"]["fields"]}
        self.assertEqual(sourcestamp["type_spec"]["type"], "sourcestamp")
        self.assertEqual(list(ss_fields), list(self.data.getResourceType("sourcestamp").fields))
        self.assertEqual(ss_fields["patch"]["type"], "patch or None")
        self.assertEqual(ss_fields["patch"]["type_spec"]["can_be_null"], True)
        self.assertEqual(
            [f["name"] for f in ss_fields["patch"]["type_spec"]["fields"]],
            ["patchid", "body", "level", "subdir", "author", "comment"],
        )
        self.assertEqual(
            change["properties"],
            {
                "name": "properties",
                "type": "sourcedproperties",
                "type_spec": {"name": "sourcedproperties"},
            },
        )
        worker = {f["name"]: f for f in by_path["workers"]["type_spec"]["fields"]}
        self.assertEqual(
            worker["connected_to"]["type_spec"],
            {
                "type": "list",
                "of": {
                    "type": "master_id",
                    "fields": [
                        {"name": "masterid", "type": "integer", "type_spec": {"name": "integer"}}
                    ],
                },
            },
        )
        # a properties endpoint publishes a properties object, not an entity with fields
        props = by_path["builds/n:buildid/properties"]
        self.assertEqual(props["type"], "sourcedproperties")
        self.assertEqual(props["type_spec"], {"name": "sourcedproperties"})
        # the spec lists itself, as a collection of specs
        self.assertEqual(by_path["application.spec"]["plural"], "specs")
        # ordinary result specs apply
        only = await self.data.get(("application.spec",), fields=["path"], limit=1)
        self.assertEqual(list(only), [{"path": specs[0]["path"]}])


(
    TestFake,
    TestSQLite,
    TestPostgreSQL,
    TestMySQL,
    TestFakeData,
    TestFakeDataSQLite,
) = dataapi.data_test_cases(Tests)


class TypeSpec(unittest.TestCase):
    def test_field_type_spec(self):
        self.assertEqual(field_type_spec("int"), {"name": "integer"})
        self.assertEqual(field_type_spec("str?"), {"name": "string", "can_be_null": True})
        self.assertEqual(field_type_spec("ts?"), {"name": "datetime", "can_be_null": True})
        self.assertEqual(field_type_spec("id(70)"), {"name": "identifier"})
        self.assertEqual(
            field_type_spec("[id(50)]"), {"type": "list", "of": {"name": "identifier"}}
        )
        self.assertEqual(
            field_type_spec("[int]?"),
            {"type": "list", "of": {"name": "integer"}, "can_be_null": True},
        )
        self.assertEqual(field_type_spec("json"), {"name": "jsonobject"})
        self.assertEqual(
            field_type_spec("props?"), {"name": "sourcedproperties", "can_be_null": True}
        )
        self.assertEqual(field_type_spec("binary?"), {"name": "binary", "can_be_null": True})

    def test_field_type_name(self):
        self.assertEqual(field_type_name("int"), "integer")
        self.assertEqual(field_type_name("str?"), "string or None")
        self.assertEqual(field_type_name("id(50)"), "identifier")
        self.assertEqual(field_type_name("[int]"), "list")
        self.assertEqual(field_type_name("[str]?"), "list or None")
        self.assertEqual(field_type_name("entity(patch)?"), "patch or None")
        self.assertEqual(field_type_name("[entity(Url)]"), "list")

    def test_nested_entities(self):
        url = {
            "type": "Url",
            "fields": [
                {"name": "name", "type": "string", "type_spec": {"name": "string"}},
                {"name": "url", "type": "string", "type_spec": {"name": "string"}},
            ],
        }
        self.assertEqual(field_type_spec("entity(Url)"), url)
        self.assertEqual(field_type_spec("[entity(Url)]"), {"type": "list", "of": url})
        self.assertEqual(field_type_spec("entity(Url)?"), {**url, "can_be_null": True})
        with self.assertRaises(KeyError):
            field_type_spec("entity(nosuch)")

    def test_resolver(self):
        entities = {"outer": {"inner": "entity(inner)?"}, "inner": {"n": "int"}}
        self.assertEqual(
            type_spec("thing", {"o": "[entity(outer)]"}, entities.__getitem__),
            {
                "type": "thing",
                "fields": [
                    {
                        "name": "o",
                        "type": "list",
                        "type_spec": {
                            "type": "list",
                            "of": {
                                "type": "outer",
                                "fields": [
                                    {
                                        "name": "inner",
                                        "type": "inner or None",
                                        "type_spec": {
                                            "type": "inner",
                                            "fields": [
                                                {
                                                    "name": "n",
                                                    "type": "integer",
                                                    "type_spec": {"name": "integer"},
                                                }
                                            ],
                                            "can_be_null": True,
                                        },
                                    }
                                ],
                            },
                        },
                    }
                ],
            },
        )

    def test_connector_resolver(self):
        class Data:
            def getResourceType(self, name):
                return Master if name == "master" else None

        class Master:
            fields = {"masterid": "int"}

        resolve = connector_resolver(Data())
        self.assertEqual(resolve("master"), {"masterid": "int"})
        self.assertEqual(resolve("master_id"), {"masterid": "int"})
        self.assertEqual(resolve("patch")["body"], "binary")

    def test_type_spec(self):
        self.assertEqual(
            type_spec("commit_graph", {"common": "int", "to1": "[int]"}),
            {
                "type": "commit_graph",
                "fields": [
                    {"name": "common", "type": "integer", "type_spec": {"name": "integer"}},
                    {
                        "name": "to1",
                        "type": "list",
                        "type_spec": {"type": "list", "of": {"name": "integer"}},
                    },
                ],
            },
        )
        self.assertEqual(type_spec("property", {}), {"name": "sourcedproperties"})
        self.assertEqual(entity_type_name("property"), "sourcedproperties")
        self.assertEqual(entity_type_name("build"), "build")
