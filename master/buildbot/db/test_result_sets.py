"""The `test_result_sets` table: groups of test results reported by a step."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


class TestResultSetDoesNotExist(Exception):
    pass


class TestResultSetAlreadyCompleted(Exception):
    pass


@dataclasses.dataclass
class TestResultSetModel:
    __test__ = False  # not a test case, despite its name

    id: int
    builderid: int
    buildid: int
    stepid: int
    description: str | None
    category: str
    value_unit: str
    tests_passed: int | None
    tests_failed: int | None
    complete: bool = False


def model_from_row(row) -> TestResultSetModel:
    return TestResultSetModel(
        id=row.id,
        builderid=row.builderid,
        buildid=row.buildid,
        stepid=row.stepid,
        description=row.description,
        category=row.category,
        value_unit=row.value_unit,
        tests_passed=row.tests_passed,
        tests_failed=row.tests_failed,
        complete=bool(row.complete),
    )


class TestResultSetsConnectorComponent(base.DBConnectorComponent):
    __test__ = False

    def addTestResultSet(
        self,
        builderid: int,
        buildid: int,
        stepid: int,
        description: str | None,
        category: str,
        value_unit: str,
    ) -> defer.Deferred[int]:
        """Add an empty, incomplete set; returns its id."""
        tbl = self.db.model.test_result_sets
        q = tbl.insert().values(
            builderid=builderid,
            buildid=buildid,
            stepid=stepid,
            description=description,
            category=category,
            value_unit=value_unit,
            complete=0,
        )

        def thdAddTestResultSet(conn: sa.Connection) -> int:
            return conn.execute(q).inserted_primary_key[0]

        return self.db.pool.do(thdAddTestResultSet)

    def getTestResultSet(self, test_result_setid: int) -> defer.Deferred[TestResultSetModel | None]:
        tbl = self.db.model.test_result_sets
        q = tbl.select().where(tbl.c.id == test_result_setid)

        def thdGetTestResultSet(conn: sa.Connection) -> TestResultSetModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetTestResultSet)

    def getTestResultSets(
        self,
        builderid: int,
        buildid: int | None = None,
        stepid: int | None = None,
        complete: bool | None = None,
    ) -> defer.Deferred[list[TestResultSetModel]]:
        """The builder's sets, optionally of one build or step and by completion, by id."""
        tbl = self.db.model.test_result_sets
        q = tbl.select().where(tbl.c.builderid == builderid).order_by(tbl.c.id)
        if buildid is not None:
            q = q.where(tbl.c.buildid == buildid)
        if stepid is not None:
            q = q.where(tbl.c.stepid == stepid)
        if complete is not None:
            q = q.where(tbl.c.complete == (1 if complete else 0))

        def thdGetTestResultSets(conn: sa.Connection) -> list[TestResultSetModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetTestResultSets)

    def get_test_result_sets_for_commits(
        self, commit_ids: list[int]
    ) -> defer.Deferred[list[TestResultSetModel]]:
        """The sets of builds of a buildset with a sourcestamp at the revision of one
        of these commits, each once, by id."""
        if not commit_ids:
            return defer.succeed([])
        m = self.db.model
        tbl = m.test_result_sets
        # matched by revision only, as the reference does: a sourcestamp names its
        # codebase by a free string, not by the codebases table
        setids = (
            sa.select(tbl.c.id)
            .select_from(
                tbl.join(m.builds, m.builds.c.id == tbl.c.buildid)
                .join(m.buildrequests, m.buildrequests.c.id == m.builds.c.buildrequestid)
                .join(
                    m.buildset_sourcestamps,
                    m.buildset_sourcestamps.c.buildsetid == m.buildrequests.c.buildsetid,
                )
                .join(
                    m.sourcestamps, m.sourcestamps.c.id == m.buildset_sourcestamps.c.sourcestampid
                )
                .join(
                    m.codebase_commits,
                    m.codebase_commits.c.revision == m.sourcestamps.c.revision,
                )
            )
            .where(m.codebase_commits.c.id.in_(sorted(set(commit_ids))))
        )
        q = tbl.select().where(tbl.c.id.in_(setids)).order_by(tbl.c.id)

        def thdGetTestResultSetsForCommits(conn: sa.Connection) -> list[TestResultSetModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetTestResultSetsForCommits)

    def completeTestResultSet(
        self,
        test_result_setid: int,
        tests_passed: int | None = None,
        tests_failed: int | None = None,
    ) -> defer.Deferred[None]:
        """Mark the set complete, with its counts.

        TestResultSetAlreadyCompleted if it was; TestResultSetDoesNotExist if
        there is no such set.
        """
        tbl = self.db.model.test_result_sets
        q = (
            tbl.update()
            .where((tbl.c.id == test_result_setid) & (tbl.c.complete == 0))
            .values(complete=1, tests_passed=tests_passed, tests_failed=tests_failed)
        )
        exists = sa.select(tbl.c.id).where(tbl.c.id == test_result_setid)

        def thdCompleteTestResultSet(conn: sa.Connection) -> None:
            if conn.execute(q).rowcount > 0:
                return
            if conn.execute(exists).first() is None:
                raise TestResultSetDoesNotExist(f"no test result set {test_result_setid}")
            raise TestResultSetAlreadyCompleted(
                f"test result set {test_result_setid} is already completed"
            )

        return self.db.pool.do(thdCompleteTestResultSet)
