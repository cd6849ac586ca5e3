from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot.process.results import FAILURE, RETRY, SUCCESS
from buildbot.reporters import utils
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.util import eventual

MASTERID = 824


class FakeConfig:
    buildbotURL = "http://bb.example/"
    title = "Example CI"


class ReporterTestMixin(TestReactorMixin):
    """A fake master (DB, MQ, data) holding builder 'b5' (tag 'fast', id 5) whose
    builds 20 (#1), 21 (#2, a retry) and 22 (#3) ran for buildset 10's requests;
    build 22 has a step 'compile' with a log 'stdio'."""

    async def setup_reporter_master(self) -> Any:
        self.setup_test_reactor()
        self.master = fakemaster.make_master(self, wantDb=True, wantMq=True, wantData=True)
        self.master.config = FakeConfig()
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        return self.master

    async def insert_builds(self, results3: int | None = FAILURE, results1: int = SUCCESS) -> None:
        rows = [
            fakedb.Master(id=MASTERID),
            fakedb.Builder(id=5, name="b5"),
            fakedb.Builder(id=6, name="b6"),
            fakedb.Tag(id=1, name="fast"),
            fakedb.BuildersTags(builderid=5, tagid=1),
            fakedb.Worker(id=3, name="w3"),
            fakedb.Patch(
                id=99, patch_base64="aGVsbG8=", patchlevel=1, patch_author="me", patch_comment="c"
            ),
            fakedb.SourceStamp(
                id=7, branch="main", revision="abc", project="proj", repository="repo", patchid=99
            ),
            fakedb.Buildset(id=10, results=results3, complete=1, complete_at=1300),
            fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=7),
            fakedb.BuildsetProperty(
                buildsetid=10, property_name="scheduler", property_value='["sched", "Scheduler"]'
            ),
            fakedb.Change(changeid=1, author="alice <alice@example.org>", sourcestampid=7),
            fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
            fakedb.BuildRequest(id=12, buildsetid=10, builderid=5),
            fakedb.BuildRequest(id=13, buildsetid=10, builderid=5),
            fakedb.Build(
                id=20,
                number=1,
                builderid=5,
                buildrequestid=11,
                workerid=3,
                masterid=MASTERID,
                results=results1,
                complete_at=1000,
            ),
            fakedb.Build(
                id=21,
                number=2,
                builderid=5,
                buildrequestid=12,
                workerid=3,
                masterid=MASTERID,
                results=RETRY,
                complete_at=1100,
            ),
            fakedb.Build(
                id=22,
                number=3,
                builderid=5,
                buildrequestid=13,
                workerid=3,
                masterid=MASTERID,
                results=results3,
                complete_at=1200 if results3 is not None else None,
                state_string="failed compile",
            ),
            fakedb.BuildProperty(buildid=22, name="workername", value='"w3"', source="Worker"),
            fakedb.BuildProperty(buildid=22, name="branch", value='"main"', source="Build"),
            fakedb.BuildProperty(buildid=22, name="owner", value='"bob"', source="Force"),
            fakedb.BuildProperty(buildid=22, name="scheduler", value='"sched"', source="Sched"),
            fakedb.Step(id=50, buildid=22, number=0, name="compile", results=FAILURE),
            fakedb.Log(id=60, stepid=50, name="stdio", slug="stdio", num_lines=2, complete=1),
            fakedb.LogChunk(
                logid=60, first_line=0, last_line=1, content=b"line one\nline two\n", compressed=0
            ),
        ]
        await self.master.db.insert_test_data(rows)

    async def get_build(self, buildid: int = 22) -> dict[str, Any]:
        return dict(await self.master.data.get(("builds", buildid)))

    async def flush(self) -> None:
        await eventual.flushEventualQueue()


class TestUtils(ReporterTestMixin, unittest.TestCase):
    async def setUp(self) -> None:
        await self.setup_reporter_master()
        await self.insert_builds()

    def test_urls(self) -> None:
        self.assertEqual(
            utils.getURLForBuild(self.master, 5, 3), "http://bb.example/#/builders/5/builds/3"
        )
        self.assertEqual(
            utils.getURLForBuildrequest(self.master, 11), "http://bb.example/#/buildrequests/11"
        )
        self.master.config.buildbotURL = "http://noslash"
        self.assertEqual(
            utils.getURLForBuild(self.master, 1, 2), "http://noslash/#/builders/1/builds/2"
        )
        self.master.config = None
        self.assertEqual(
            utils.getURLForBuild(self.master, 1, 2), "http://localhost:8080/#/builders/1/builds/2"
        )

    async def test_details_minimal(self) -> None:
        build = await self.get_build()
        got = await utils.getDetailsForBuild(self.master, build)
        self.assertIs(got, build)
        self.assertEqual(build["builder"]["name"], "b5")
        self.assertEqual(build["builder"]["tags"], ["fast"])
        self.assertEqual(build["buildset"]["bsid"], 10)
        self.assertEqual(build["url"], "http://bb.example/#/builders/5/builds/3")
        self.assertIsNone(build["parentbuild"])
        self.assertNotIn("steps", build)
        self.assertNotIn("prev_build", build)

    async def test_details_everything(self) -> None:
        build = await self.get_build()
        await utils.getDetailsForBuild(
            self.master,
            build,
            want_properties=True,
            want_steps=True,
            want_previous_build=True,
            want_logs=True,
            want_logs_content=True,
        )
        self.assertEqual(build["properties"]["owner"], ("bob", "Force"))
        [step] = build["steps"]
        self.assertEqual(step["name"], "compile")
        [lg] = step["logs"]
        self.assertEqual(lg["url"], "http://bb.example/#/builders/5/builds/3/steps/0/logs/stdio")
        self.assertEqual(lg["url_raw"], "http://bb.example/api/v2/logs/60/raw")
        self.assertEqual(lg["url_raw_inline"], "http://bb.example/api/v2/logs/60/raw_inline")
        self.assertEqual(lg["content"]["content"], "line one\nline two\n")
        # the retry (#2) is skipped
        self.assertEqual(build["prev_build"]["number"], 1)

    async def test_details_selected_logs(self) -> None:
        build = await self.get_build()
        await utils.getDetailsForBuild(self.master, build, add_logs=["compile.stdio"])
        self.assertIn("content", build["steps"][0]["logs"][0])
        build = await self.get_build()
        await utils.getDetailsForBuild(self.master, build, want_logs=True, add_logs=["other"])
        self.assertNotIn("content", build["steps"][0]["logs"][0])
        build = await self.get_build()
        await utils.getDetailsForBuild(self.master, build, want_steps=True)
        self.assertNotIn("logs", build["steps"][0])

    async def test_previous_build_none(self) -> None:
        build = await self.get_build(20)
        await utils.getDetailsForBuild(self.master, build, want_previous_build=True)
        self.assertIsNone(build["prev_build"])

    async def test_parent_build(self) -> None:
        await self.master.db.insert_test_data(
            [
                fakedb.Buildset(id=30, parent_buildid=22),
                fakedb.BuildRequest(id=31, buildsetid=30, builderid=6),
                fakedb.Build(
                    id=32, number=1, builderid=6, buildrequestid=31, workerid=3, masterid=MASTERID
                ),
            ]
        )
        build = await self.get_build(32)
        await utils.getDetailsForBuild(self.master, build)
        self.assertEqual(build["parentbuild"]["buildid"], 22)
        self.assertEqual(build["parentbuilder"]["name"], "b5")

    async def test_details_for_buildset(self) -> None:
        res = await utils.getDetailsForBuildset(self.master, 10, want_properties=True)
        self.assertEqual(res["buildset"]["bsid"], 10)
        self.assertEqual([b["buildid"] for b in res["builds"]], [20, 21, 22])
        for b in res["builds"]:
            self.assertEqual(b["buildset"]["bsid"], 10)
            self.assertIn("properties", b)

    async def test_responsible_users(self) -> None:
        # build 22 contains no change of its own: build 20 (same sourcestamp) had it
        self.assertEqual(await utils.getResponsibleUsersForBuild(self.master, 22), ["bob"])
        self.assertEqual(
            await utils.getResponsibleUsersForBuild(self.master, 20), ["alice <alice@example.org>"]
        )
        await self.master.db.insert_test_data(
            [
                fakedb.BuildProperty(buildid=20, name="owner", value='"x"', source="s"),
                fakedb.BuildProperty(buildid=20, name="owners", value='["x", "y"]', source="s"),
            ]
        )
        self.assertEqual(
            await utils.getResponsibleUsersForBuild(self.master, 20),
            ["alice <alice@example.org>", "x", "y"],
        )
        self.assertEqual(
            await utils.getResponsibleUsersForSourceStamp(self.master, 7),
            ["alice <alice@example.org>"],
        )
