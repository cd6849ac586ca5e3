from __future__ import annotations

from twisted.internet import defer

from buildbot.db.test_results import TestResultModel
from buildbot.test.fakedb.base import FakeDBComponent


class FakeTestResultsComponent(FakeDBComponent):
    __test__ = False

    def _ids(self, table, column, builderid, wanted):
        ids = {}
        for r in sorted(
            self.t.select(table, lambda r: r["builderid"] == builderid), key=lambda r: r["id"]
        ):
            if r[column] in wanted:
                ids.setdefault(r[column], r["id"])
        for value in sorted(wanted - ids.keys()):
            ids[value] = self.t.insert(table, {"builderid": builderid, column: value})
        return ids

    def addTestResults(self, builderid, test_result_setid, result_values):
        results = [dict(r) for r in result_values]
        for r in results:
            if r.get("value") is None:
                return defer.fail(ValueError(f"a test result needs a value: {r!r}"))
        names = {r["test_name"] for r in results if r.get("test_name") is not None}
        paths = {r["test_code_path"] for r in results if r.get("test_code_path") is not None}
        name_ids = self._ids("test_names", "name", builderid, names)
        path_ids = self._ids("test_code_paths", "path", builderid, paths)
        for r in results:
            self.t.insert(
                "test_results",
                {
                    "builderid": builderid,
                    "test_result_setid": test_result_setid,
                    "test_nameid": name_ids.get(r.get("test_name")),
                    "test_code_pathid": path_ids.get(r.get("test_code_path")),
                    "line": r.get("line"),
                    "duration_ns": r.get("duration_ns"),
                    "value": str(r["value"]),
                },
            )
        return defer.succeed(None)

    def _model(self, row):
        name = self.t.select_one("test_names", lambda r: r["id"] == row["test_nameid"])
        path = self.t.select_one("test_code_paths", lambda r: r["id"] == row["test_code_pathid"])
        return TestResultModel(
            id=row["id"],
            builderid=row["builderid"],
            test_result_setid=row["test_result_setid"],
            test_name=name["name"] if name else None,
            test_code_path=path["path"] if path else None,
            line=row["line"],
            duration_ns=row["duration_ns"],
            value=row["value"],
        )

    def getTestResult(self, test_resultid):
        row = self.t.select_one("test_results", lambda r: r["id"] == test_resultid)
        return defer.succeed(self._model(row) if row is not None else None)

    def getTestResults(self, builderid, test_result_setid):
        rows = self.t.select(
            "test_results",
            lambda r: r["builderid"] == builderid and r["test_result_setid"] == test_result_setid,
        )
        return defer.succeed([self._model(r) for r in sorted(rows, key=lambda r: r["id"])])

    def _distinct(self, table, column, builderid, prefix):
        values = {
            r[column]
            for r in self.t.select(table, lambda r: r["builderid"] == builderid)
            if prefix is None or r[column].startswith(prefix)
        }
        return defer.succeed(sorted(values))

    def getTestNames(self, builderid, name_prefix=None):
        return self._distinct("test_names", "name", builderid, name_prefix)

    def getTestCodePaths(self, builderid, path_prefix=None):
        return self._distinct("test_code_paths", "path", builderid, path_prefix)
