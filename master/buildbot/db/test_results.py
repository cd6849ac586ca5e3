"""The `test_results` table, with the test names and code paths it points to.

Names and code paths are kept once per builder and shared by its results.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base

# values per IN (...) list when looking names up
_LOOKUP_BATCH = 500


@dataclasses.dataclass
class TestResultModel:
    __test__ = False  # not a test case, despite its name

    id: int
    builderid: int
    test_result_setid: int
    test_name: str | None
    test_code_path: str | None
    line: int | None
    duration_ns: int | None
    value: str | None


def _batches(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _LOOKUP_BATCH):
        yield values[i : i + _LOOKUP_BATCH]


class TestResultsConnectorComponent(base.DBConnectorComponent):
    __test__ = False

    def _thd_ids(self, conn, tbl, column: str, builderid: int, wanted: set[str]) -> dict[str, int]:
        """Ids of the builder's names (or paths) in `wanted`, adding the missing ones."""
        col = tbl.c[column]
        ids: dict[str, int] = {}
        for batch in _batches(sorted(wanted)):
            q = (
                sa.select(tbl.c.id, col)
                .where(tbl.c.builderid == builderid)
                .where(col.in_(batch))
                .order_by(tbl.c.id)
            )
            for row in conn.execute(q):
                # MySQL matches without case: keep exact matches only
                if row[1] in wanted:
                    ids.setdefault(row[1], row.id)
        for value in sorted(wanted - ids.keys()):
            res = conn.execute(tbl.insert().values(builderid=builderid, **{column: value}))
            ids[value] = res.inserted_primary_key[0]
        return ids

    def addTestResults(
        self, builderid: int, test_result_setid: int, result_values: list[dict[str, Any]]
    ) -> defer.Deferred[None]:
        """Add results to a set, all or none. Each is a dict with `value` and
        optionally `test_name`, `test_code_path`, `line`, `duration_ns`."""
        model = self.db.model
        results = [dict(r) for r in result_values]
        for r in results:
            if r.get("value") is None:
                return defer.fail(ValueError(f"a test result needs a value: {r!r}"))

        def thdAddTestResults(conn: sa.Connection) -> None:
            names = {r["test_name"] for r in results if r.get("test_name") is not None}
            paths = {r["test_code_path"] for r in results if r.get("test_code_path") is not None}
            name_ids = self._thd_ids(conn, model.test_names, "name", builderid, names)
            path_ids = self._thd_ids(conn, model.test_code_paths, "path", builderid, paths)
            rows = [
                {
                    "builderid": builderid,
                    "test_result_setid": test_result_setid,
                    "test_nameid": name_ids.get(r.get("test_name")),
                    "test_code_pathid": path_ids.get(r.get("test_code_path")),
                    "line": r.get("line"),
                    "duration_ns": r.get("duration_ns"),
                    "value": str(r["value"]),
                }
                for r in results
            ]
            if rows:
                conn.execute(model.test_results.insert(), rows)

        return self.db.pool.do(thdAddTestResults)

    def _select(self):
        model = self.db.model
        res, names, paths = model.test_results, model.test_names, model.test_code_paths
        j = res.outerjoin(names, res.c.test_nameid == names.c.id).outerjoin(
            paths, res.c.test_code_pathid == paths.c.id
        )
        q = sa.select(
            res.c.id,
            res.c.builderid,
            res.c.test_result_setid,
            names.c.name,
            paths.c.path,
            res.c.line,
            res.c.duration_ns,
            res.c.value,
        ).select_from(j)
        return q, res

    def getTestResult(self, test_resultid: int) -> defer.Deferred[TestResultModel | None]:
        q, res = self._select()
        q = q.where(res.c.id == test_resultid)

        def thdGetTestResult(conn: sa.Connection) -> TestResultModel | None:
            row = conn.execute(q).first()
            return TestResultModel(*row) if row is not None else None

        return self.db.pool.do(thdGetTestResult)

    def getTestResults(
        self, builderid: int, test_result_setid: int
    ) -> defer.Deferred[list[TestResultModel]]:
        """The results of the set, in the order they were added."""
        q, res = self._select()
        q = (
            q.where(res.c.builderid == builderid)
            .where(res.c.test_result_setid == test_result_setid)
            .order_by(res.c.id)
        )

        def thdGetTestResults(conn: sa.Connection) -> list[TestResultModel]:
            return [TestResultModel(*row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetTestResults)

    def _distinct(self, tbl, column: str, builderid: int, prefix: str | None):
        col = tbl.c[column]
        q = sa.select(col).where(tbl.c.builderid == builderid).distinct().order_by(col)
        if prefix is not None:
            q = q.where(col.startswith(prefix, autoescape=True))

        def thdDistinct(conn: sa.Connection) -> list[str]:
            return [row[0] for row in conn.execute(q)]

        return self.db.pool.do(thdDistinct)

    def getTestNames(
        self, builderid: int, name_prefix: str | None = None
    ) -> defer.Deferred[list[str]]:
        """The builder's test names (starting with `name_prefix`), sorted."""
        return self._distinct(self.db.model.test_names, "name", builderid, name_prefix)

    def getTestCodePaths(
        self, builderid: int, path_prefix: str | None = None
    ) -> defer.Deferred[list[str]]:
        """The builder's test code paths (starting with `path_prefix`), sorted."""
        return self._distinct(self.db.model.test_code_paths, "path", builderid, path_prefix)
