"""Test result sets: the results of one kind of test run by a step."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def test_result_set_dict(s: Any) -> dict[str, Any]:
    return {
        "test_result_setid": s.id,
        "builderid": s.builderid,
        "buildid": s.buildid,
        "stepid": s.stepid,
        "description": s.description,
        "category": s.category,
        "value_unit": s.value_unit,
        "tests_passed": s.tests_passed,
        "tests_failed": s.tests_failed,
        "complete": s.complete,
    }


class TestResultSetEndpoint(base.Endpoint):
    pathPatterns = "/test_result_sets/n:test_result_setid"

    async def get(self, resultSpec, kwargs):
        s = await self.master.db.test_result_sets.getTestResultSet(kwargs["test_result_setid"])
        return test_result_set_dict(s) if s is not None else None


class TestResultSetsEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = """
        /test_result_sets
        /builders/n:builderid/test_result_sets
        /builders/s:buildername/test_result_sets
        /builds/n:buildid/test_result_sets
        /steps/n:stepid/test_result_sets
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        complete = resultSpec.popBooleanFilter("complete") if resultSpec else None
        buildid = stepid = None
        if "stepid" in kwargs:
            step = await db.steps.getStep(stepid=kwargs["stepid"])
            if step is None:
                return []
            stepid, buildid = step.id, step.buildid
        if "buildid" in kwargs:
            buildid = kwargs["buildid"]
        if buildid is not None:
            build = await db.builds.getBuild(buildid)
            builderids = [build.builderid] if build is not None else []
        elif "builderid" in kwargs or "buildername" in kwargs:
            builderid = await self.getBuilderId(kwargs)
            builderids = [builderid] if builderid is not None else []
        else:
            builderids = [b.id for b in await db.builders.getBuilders()]
        sets = []
        for builderid in builderids:
            sets.extend(
                await db.test_result_sets.getTestResultSets(
                    builderid, buildid=buildid, stepid=stepid, complete=complete
                )
            )
        sets.sort(key=lambda s: s.id)
        return [test_result_set_dict(s) for s in sets]


class TestResultSetsFromCommitRangeEndpoint(base.Endpoint):
    """The sets of builds of the commits from commitid1 to commitid2 (both included);
    empty unless commitid1 is an ancestor of commitid2 (or the same commit)."""

    isCollection = True
    pathPatterns = "/codebases/n:codebaseid/commit_range/n:commitid1/n:commitid2/test_result_sets"

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        commitid1 = kwargs["commitid1"]
        graph = await db.codebase_commits.get_first_common_commit_with_ranges(
            kwargs["codebaseid"], commitid1, kwargs["commitid2"]
        )
        if graph is None or graph.common != commitid1:
            return []
        sets = await db.test_result_sets.get_test_result_sets_for_commits([commitid1, *graph.to2])
        return [test_result_set_dict(s) for s in sets]


class TestResultSet(base.ResourceType):
    __test__ = False  # not a test case, despite its name

    name = "test_result_set"
    plural = "test_result_sets"
    endpoints = [
        TestResultSetEndpoint,
        TestResultSetsEndpoint,
        TestResultSetsFromCommitRangeEndpoint,
    ]
    keyField = "test_result_setid"
    fields = {
        "test_result_setid": "int",
        "builderid": "int",
        "buildid": "int",
        "stepid": "int",
        "description": "str?",
        "category": "str",
        "value_unit": "str",
        "tests_passed": "int?",
        "tests_failed": "int?",
        "complete": "bool",
    }
    eventPathPatterns = "/test_result_sets/:test_result_setid"

    @base.updateMethod
    async def addTestResultSet(
        self,
        builderid: int,
        buildid: int,
        stepid: int,
        description: str | None,
        category: str,
        value_unit: str,
    ) -> int:
        setid = await self.master.db.test_result_sets.addTestResultSet(
            builderid, buildid, stepid, description, category, value_unit
        )
        await self.generateEvent(setid, "new")
        return setid

    @base.updateMethod
    async def completeTestResultSet(
        self,
        test_result_setid: int,
        tests_passed: int | None = None,
        tests_failed: int | None = None,
    ) -> None:
        await self.master.db.test_result_sets.completeTestResultSet(
            test_result_setid, tests_passed=tests_passed, tests_failed=tests_failed
        )
        await self.generateEvent(test_result_setid, "completed")
