"""The deprecated root link list and `/application.spec`."""

from twisted.trial import unittest

from buildbot.data.spec import field_type_spec, type_spec
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
                "type": "integer",
                "type_spec": {"type": "integer", "can_be_null": True},
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
        self.assertEqual(field_type_spec("int"), {"type": "integer"})
        self.assertEqual(field_type_spec("str?"), {"type": "string", "can_be_null": True})
        self.assertEqual(field_type_spec("ts?"), {"type": "datetime", "can_be_null": True})
        self.assertEqual(field_type_spec("id(70)"), {"type": "identifier", "len": 70})
        self.assertEqual(
            field_type_spec("[id(50)]"),
            {"type": "list", "of": {"type": "identifier", "len": 50}},
        )
        self.assertEqual(field_type_spec("json"), {"type": "jsonobject"})
        self.assertEqual(field_type_spec("binary?"), {"type": "binary", "can_be_null": True})

    def test_type_spec(self):
        self.assertEqual(
            type_spec("commit_graph", {"common": "int", "to1": "[int]"}),
            {
                "type": "commit_graph",
                "fields": [
                    {"name": "common", "type": "integer", "type_spec": {"type": "integer"}},
                    {
                        "name": "to1",
                        "type": "list",
                        "type_spec": {"type": "list", "of": {"type": "integer"}},
                    },
                ],
            },
        )
