"""Test results: the individual results of a test result set. No events."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def test_result_dict(r: Any) -> dict[str, Any]:
    return {
        "test_resultid": r.id,
        "builderid": r.builderid,
        "test_result_setid": r.test_result_setid,
        "test_name": r.test_name,
        "test_code_path": r.test_code_path,
        "line": r.line,
        "duration_ns": r.duration_ns,
        "value": r.value,
    }


class TestResultsEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "/test_result_sets/n:test_result_setid/results"

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        s = await db.test_result_sets.getTestResultSet(kwargs["test_result_setid"])
        if s is None:
            return []
        results = await db.test_results.getTestResults(s.builderid, s.id)
        return [test_result_dict(r) for r in results]


class TestResult(base.ResourceType):
    __test__ = False  # not a test case, despite its name

    name = "test_result"
    plural = "test_results"
    endpoints = [TestResultsEndpoint]
    keyField = "test_resultid"
    fields = {
        "test_resultid": "int",
        "builderid": "int",
        "test_result_setid": "int",
        "test_name": "str?",
        "test_code_path": "str?",
        "line": "int?",
        "duration_ns": "int?",
        "value": "str",
    }

    @base.updateMethod
    def addTestResults(self, builderid: int, test_result_setid: int, result_values: list[dict]):
        return self.master.db.test_results.addTestResults(
            builderid, test_result_setid, result_values
        )
