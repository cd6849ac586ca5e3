"""Builds and their properties."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.process.results import SUCCESS
from buildbot.util import epoch2datetime

# how many earlier successful builds getPrevSuccessfulBuild examines per query
PREV_BUILDS_PAGE = 100
# how many numbers addBuild tries when others take them concurrently
ADD_BUILD_ATTEMPTS = 50


@dataclasses.dataclass
class BuildModel:
    id: int
    number: int
    builderid: int
    buildrequestid: int
    workerid: int | None
    masterid: int
    started_at: datetime.datetime
    complete_at: datetime.datetime | None
    locks_duration_s: int | None
    state_string: str
    results: int | None


def model_from_mapping(m: Any) -> BuildModel:
    return BuildModel(
        id=m["id"],
        number=m["number"],
        builderid=m["builderid"],
        buildrequestid=m["buildrequestid"],
        workerid=m["workerid"],
        masterid=m["masterid"],
        started_at=epoch2datetime(m["started_at"]),
        complete_at=epoch2datetime(m["complete_at"]),
        locks_duration_s=m["locks_duration_s"],
        state_string=m["state_string"],
        results=m["results"],
    )


def _model(row: Any) -> BuildModel:
    return model_from_mapping(row._mapping)


def ss_key(ss: Any) -> tuple[str | None, str | None, str | None]:
    """What getPrevSuccessfulBuild compares of a sourcestamp (model or dict)."""
    if isinstance(ss, dict):
        return ss.get("repository"), ss.get("branch"), ss.get("codebase")
    return ss.repository, ss.branch, ss.codebase


def check_property(component: Any, name: str, source: str) -> None:
    tbl = component.db.model.build_properties
    component.checkLength(tbl.c.name, name)
    component.checkLength(tbl.c.source, source)


class BuildsConnectorComponent(base.DBConnectorComponent):
    def _get_one(self, whereclause: Any) -> defer.Deferred[BuildModel | None]:
        q = self.db.model.builds.select().where(whereclause)

        def thdGetBuild(conn: sa.Connection) -> BuildModel | None:
            row = conn.execute(q).first()
            return _model(row) if row is not None else None

        return self.db.pool.do(thdGetBuild)

    def _get_list(self, q: sa.Select) -> defer.Deferred[list[BuildModel]]:
        def thdGetBuilds(conn: sa.Connection) -> list[BuildModel]:
            return [_model(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetBuilds)

    def getBuild(self, buildid: int) -> defer.Deferred[BuildModel | None]:
        tbl = self.db.model.builds
        q = self.statement(
            "getBuild", lambda: tbl.select().where(tbl.c.id == sa.bindparam("buildid"))
        )

        def thdGetBuild(conn: sa.Connection) -> BuildModel | None:
            row = conn.execute(q, {"buildid": buildid}).first()
            return _model(row) if row is not None else None

        return self.db.pool.do(thdGetBuild)

    def getBuildByNumber(self, builderid: int, number: int) -> defer.Deferred[BuildModel | None]:
        tbl = self.db.model.builds
        return self._get_one((tbl.c.builderid == builderid) & (tbl.c.number == number))

    def getBuilds(
        self,
        builderid: int | None = None,
        buildrequestid: int | None = None,
        workerid: int | None = None,
        complete: bool | None = None,
        resultSpec: Any = None,
    ) -> defer.Deferred[list[BuildModel]]:
        """Builds by id, filtered. (`resultSpec` is not applied here.)"""
        tbl = self.db.model.builds
        q = tbl.select()
        if builderid is not None:
            q = q.where(tbl.c.builderid == builderid)
        if buildrequestid is not None:
            q = q.where(tbl.c.buildrequestid == buildrequestid)
        if workerid is not None:
            q = q.where(tbl.c.workerid == workerid)
        if complete is not None:
            done = tbl.c.complete_at != sa.null()
            q = q.where(done if complete else sa.not_(done))
        return self._get_list(q.order_by(tbl.c.id))

    def getBuildsForChange(self, changeid: int) -> defer.Deferred[list[BuildModel]]:
        """Builds of the buildsets that built the change's sourcestamp, by id."""
        m = self.db.model
        q = (
            sa.select(m.builds)
            .select_from(
                m.changes.join(
                    m.buildset_sourcestamps,
                    m.buildset_sourcestamps.c.sourcestampid == m.changes.c.sourcestampid,
                )
                .join(
                    m.buildrequests,
                    m.buildrequests.c.buildsetid == m.buildset_sourcestamps.c.buildsetid,
                )
                .join(m.builds, m.builds.c.buildrequestid == m.buildrequests.c.id)
            )
            .where(m.changes.c.changeid == changeid)
            .order_by(m.builds.c.id)
        )
        return self._get_list(q)

    def get_triggered_builds(self, buildid: int) -> defer.Deferred[list[BuildModel]]:
        """Builds of the buildsets whose parent is that build, by id."""
        m = self.db.model
        q = (
            sa.select(m.builds)
            .select_from(
                m.buildsets.join(
                    m.buildrequests, m.buildrequests.c.buildsetid == m.buildsets.c.id
                ).join(m.builds, m.builds.c.buildrequestid == m.buildrequests.c.id)
            )
            .where(m.buildsets.c.parent_buildid == buildid)
            .order_by(m.builds.c.id)
        )
        return self._get_list(q)

    def getPrevSuccessfulBuild(
        self, builderid: int, number: int, ssBuild: Iterable[Any]
    ) -> defer.Deferred[BuildModel | None]:
        """The latest successful build of the builder numbered below `number`
        whose sourcestamps have the same (repository, branch, codebase)s as
        `ssBuild` (sourcestamp models or dicts); None if there is none."""
        m = self.db.model
        builds = m.builds
        wanted = {ss_key(ss) for ss in ssBuild}
        candidates = (
            builds.select()
            .where(
                (builds.c.builderid == builderid)
                & (builds.c.number < number)
                & (builds.c.results == SUCCESS)
            )
            .order_by(builds.c.number.desc())
            .limit(PREV_BUILDS_PAGE)
        )
        ss_of_builds = sa.select(
            builds.c.id,
            m.sourcestamps.c.repository,
            m.sourcestamps.c.branch,
            m.sourcestamps.c.codebase,
        ).select_from(
            builds.join(m.buildrequests, m.buildrequests.c.id == builds.c.buildrequestid)
            .join(
                m.buildset_sourcestamps,
                m.buildset_sourcestamps.c.buildsetid == m.buildrequests.c.buildsetid,
            )
            .join(m.sourcestamps, m.sourcestamps.c.id == m.buildset_sourcestamps.c.sourcestampid)
        )

        def thdGetPrevSuccessfulBuild(conn: sa.Connection) -> BuildModel | None:
            below = number
            while True:
                rows = conn.execute(candidates.where(builds.c.number < below)).fetchall()
                if not rows:
                    return None
                keys: dict[int, set] = {row.id: set() for row in rows}
                for r in conn.execute(ss_of_builds.where(builds.c.id.in_(list(keys)))):
                    keys[r.id].add((r.repository, r.branch, r.codebase))
                for row in rows:
                    if keys[row.id] == wanted:
                        return _model(row)
                below = rows[-1].number

        return self.db.pool.do(thdGetPrevSuccessfulBuild)

    def addBuild(
        self,
        builderid: int,
        buildrequestid: int,
        workerid: int | None,
        masterid: int,
        state_string: str,
        _race_hook: Callable[[Any], None] | None = None,
    ) -> defer.Deferred[tuple[int, int]]:
        """Add a started build numbered next on its builder; return (buildid, number).

        Two masters may pick the same number at once: the unique index on
        (builderid, number) refuses the second, which tries the next number.
        `_race_hook(conn)` runs before each insert (tests simulate the race).
        """
        for arg, given in (
            ("builderid", builderid),
            ("buildrequestid", buildrequestid),
            ("masterid", masterid),
            ("state_string", state_string),
        ):
            if given is None:
                return defer.fail(ValueError(f"addBuild: {arg} may not be None"))
        builds = self.db.model.builds
        started_at = self._now()
        max_number = sa.select(sa.func.max(builds.c.number)).where(builds.c.builderid == builderid)
        values = {
            "builderid": builderid,
            "buildrequestid": buildrequestid,
            "workerid": workerid,
            "masterid": masterid,
            "started_at": started_at,
            "complete_at": None,
            "locks_duration_s": 0,
            "state_string": state_string,
        }

        def thdAddBuild(conn: sa.Connection) -> tuple[int, int]:
            number = (conn.execute(max_number).scalar() or 0) + 1
            for attempt in range(ADD_BUILD_ATTEMPTS):
                if _race_hook is not None:
                    _race_hook(conn)
                try:
                    with base.retry_point(conn):
                        res = conn.execute(builds.insert().values(number=number, **values))
                        return res.inserted_primary_key[0], number
                except sa.exc.IntegrityError:
                    # Most likely the number was taken; otherwise (a bad
                    # foreign key) every attempt fails and the last error is
                    # raised. MySQL's repeatable reads may not show the other
                    # build, so take the next number rather than re-reading.
                    if attempt == ADD_BUILD_ATTEMPTS - 1:
                        raise
                    number += 1
            raise AssertionError("not reached")

        return self.db.pool.do(thdAddBuild)

    def _update(self, buildid: int, **values: Any) -> defer.Deferred[None]:
        tbl = self.db.model.builds
        q = tbl.update().where(tbl.c.id == buildid).values(**values)

        def thdUpdateBuild(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdUpdateBuild)

    def setBuildStateString(self, buildid: int, state_string: str) -> defer.Deferred[None]:
        return self._update(buildid, state_string=state_string)

    def add_build_locks_duration(self, buildid: int, duration_s: int) -> defer.Deferred[None]:
        """Add `duration_s` seconds to the time the build waited for locks."""
        tbl = self.db.model.builds
        return self._update(buildid, locks_duration_s=tbl.c.locks_duration_s + duration_s)

    def finishBuild(self, buildid: int, results: int) -> defer.Deferred[None]:
        return self._update(buildid, complete_at=self._now(), results=results)

    def getBuildProperties(
        self, buildid: int, resultSpec: Any = None
    ) -> defer.Deferred[dict[str, tuple[Any, str]]]:
        """{name: (value, source)} of the build ({} if unknown). (`resultSpec` is not applied.)"""
        tbl = self.db.model.build_properties
        q = sa.select(tbl.c.name, tbl.c.value, tbl.c.source).where(tbl.c.buildid == buildid)

        def thdGetBuildProperties(conn: sa.Connection) -> dict[str, tuple[Any, str]]:
            return {r.name: (json.loads(r.value), r.source) for r in conn.execute(q)}

        return self.db.pool.do(thdGetBuildProperties)

    def setBuildProperties(
        self, buildid: int, properties: dict[str, tuple[Any, str]]
    ) -> defer.Deferred[dict[str, tuple[Any, str]]]:
        """Set many build properties ({name: (value, source)}) in one transaction;
        fires with those whose value or source changed."""
        try:
            encoded = {}
            for name, (value, source) in properties.items():
                check_property(self, name, source)
                encoded[name] = (json.dumps(value), source)
        except (RuntimeError, TypeError, ValueError) as e:
            return defer.fail(e)
        if not encoded:
            return defer.succeed({})
        tbl = self.db.model.build_properties
        select = sa.select(tbl.c.name, tbl.c.value, tbl.c.source).where(
            (tbl.c.buildid == buildid) & tbl.c.name.in_(list(encoded))
        )

        def thdSetBuildProperties(conn: sa.Connection) -> dict[str, tuple[Any, str]]:
            old = {r.name: (r.value, r.source) for r in conn.execute(select)}
            changed = {}
            new_rows = []
            for name, row in encoded.items():
                if old.get(name) == row:
                    continue
                if name in old:
                    where = (tbl.c.buildid == buildid) & (tbl.c.name == name)
                    conn.execute(tbl.update().where(where).values(value=row[0], source=row[1]))
                else:
                    new_rows.append(
                        {"buildid": buildid, "name": name, "value": row[0], "source": row[1]}
                    )
                changed[name] = properties[name]
            if new_rows:
                # one executemany: a build starts with a dozen properties
                conn.execute(tbl.insert(), new_rows)
            return changed

        return self.db.pool.do(thdSetBuildProperties)

    def setBuildProperty(
        self, buildid: int, name: str, value: Any, source: str
    ) -> defer.Deferred[None]:
        """Set a build property, replacing its value and source if it exists."""
        d = self.setBuildProperties(buildid, {name: (value, source)})
        d.addCallback(lambda _: None)
        return d
