from __future__ import annotations

from twisted.internet import defer

from buildbot.db.test_result_sets import (
    TestResultSetAlreadyCompleted,
    TestResultSetDoesNotExist,
    TestResultSetModel,
)
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> TestResultSetModel:
    return TestResultSetModel(
        id=row["id"],
        builderid=row["builderid"],
        buildid=row["buildid"],
        stepid=row["stepid"],
        description=row["description"],
        category=row["category"],
        value_unit=row["value_unit"],
        tests_passed=row["tests_passed"],
        tests_failed=row["tests_failed"],
        complete=bool(row["complete"]),
    )


class FakeTestResultSetsComponent(FakeDBComponent):
    __test__ = False

    def addTestResultSet(self, builderid, buildid, stepid, description, category, value_unit):
        values = {
            "builderid": builderid,
            "buildid": buildid,
            "stepid": stepid,
            "description": description,
            "category": category,
            "value_unit": value_unit,
            "complete": 0,
        }
        return defer.succeed(self.t.insert("test_result_sets", values))

    def getTestResultSet(self, test_result_setid):
        row = self.t.select_one("test_result_sets", lambda r: r["id"] == test_result_setid)
        return defer.succeed(_model(row) if row is not None else None)

    def getTestResultSets(self, builderid, buildid=None, stepid=None, complete=None):
        def where(r):
            return (
                r["builderid"] == builderid
                and (buildid is None or r["buildid"] == buildid)
                and (stepid is None or r["stepid"] == stepid)
                and (complete is None or bool(r["complete"]) == bool(complete))
            )

        rows = sorted(self.t.select("test_result_sets", where), key=lambda r: r["id"])
        return defer.succeed([_model(r) for r in rows])

    def get_test_result_sets_for_commits(self, commit_ids):
        wanted = set(commit_ids)
        revisions = {r["revision"] for r in self.t.select("codebase_commits") if r["id"] in wanted}
        ssids = {r["id"] for r in self.t.select("sourcestamps") if r["revision"] in revisions}
        bsids = {
            r["buildsetid"]
            for r in self.t.select("buildset_sourcestamps")
            if r["sourcestampid"] in ssids
        }
        brids = {r["id"] for r in self.t.select("buildrequests") if r["buildsetid"] in bsids}
        buildids = {r["id"] for r in self.t.select("builds") if r["buildrequestid"] in brids}
        rows = sorted(
            self.t.select("test_result_sets", lambda r: r["buildid"] in buildids),
            key=lambda r: r["id"],
        )
        return defer.succeed([_model(r) for r in rows])

    def completeTestResultSet(self, test_result_setid, tests_passed=None, tests_failed=None):
        row = self.t.select_one("test_result_sets", lambda r: r["id"] == test_result_setid)
        if row is None:
            return defer.fail(TestResultSetDoesNotExist(f"no test result set {test_result_setid}"))
        if row["complete"]:
            return defer.fail(
                TestResultSetAlreadyCompleted(
                    f"test result set {test_result_setid} is already completed"
                )
            )
        self.t.update(
            "test_result_sets",
            lambda r: r["id"] == test_result_setid,
            {"complete": 1, "tests_passed": tests_passed, "tests_failed": tests_failed},
        )
        return defer.succeed(None)
