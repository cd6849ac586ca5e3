"""Named binary data attached to builds (e.g. test reports), one value per name."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class BuildDataModel:
    buildid: int
    name: str
    length: int
    source: str
    value: bytes | None


def model_from_mapping(m: Any, with_value: bool) -> BuildDataModel:
    value = m["value"] if with_value else None
    return BuildDataModel(
        buildid=m["buildid"],
        name=m["name"],
        length=m["length"],
        source=m["source"],
        value=bytes(value) if value is not None else None,
    )


def check_build_data(component: Any, name: str, value: Any, source: str) -> None:
    if not isinstance(value, bytes):
        raise TypeError(f"build data values are bytes, not {type(value).__name__}")
    tbl = component.db.model.build_data
    component.checkLength(tbl.c.name, name)
    component.checkLength(tbl.c.source, source)


class BuildDataConnectorComponent(base.DBConnectorComponent):
    def setBuildData(
        self, buildid: int, name: str, value: bytes, source: str
    ) -> defer.Deferred[None]:
        """Store `value` under `name` for the build, replacing any previous one."""
        try:
            check_build_data(self, name, value, source)
        except (TypeError, RuntimeError) as e:
            return defer.fail(e)
        tbl = self.db.model.build_data
        values = {"value": value, "length": len(value), "source": source}
        where = (tbl.c.buildid == buildid) & (tbl.c.name == name)
        insert = tbl.insert().values(buildid=buildid, name=name, **values)
        update = tbl.update().where(where).values(**values)

        def thdSetBuildData(conn: sa.Connection) -> None:
            try:
                with conn.begin_nested():
                    conn.execute(insert)
                    return
            except sa.exc.IntegrityError:
                pass
            # the name exists for this build (or the build does not: then
            # nothing is updated and the insert's error is the answer)
            if conn.execute(update).rowcount == 0:
                conn.execute(insert)

        return self.db.pool.do(thdSetBuildData)

    def _get(self, buildid: int, name: str | None, with_value: bool):
        tbl = self.db.model.build_data
        cols = [tbl.c.buildid, tbl.c.name, tbl.c.length, tbl.c.source]
        if with_value:
            cols.append(tbl.c.value)
        q = sa.select(*cols).where(tbl.c.buildid == buildid)
        if name is not None:
            q = q.where(tbl.c.name == name)

        def thdGetBuildData(conn: sa.Connection):
            rows = conn.execute(q.order_by(tbl.c.id)).fetchall()
            models = [model_from_mapping(r._mapping, with_value) for r in rows]
            if name is None:
                return models
            return models[0] if models else None

        return self.db.pool.do(thdGetBuildData)

    def getBuildData(self, buildid: int, name: str) -> defer.Deferred[BuildDataModel | None]:
        return self._get(buildid, name, with_value=True)

    def getBuildDataNoValue(self, buildid: int, name: str) -> defer.Deferred[BuildDataModel | None]:
        """Like getBuildData, without reading the value (`value` is None)."""
        return self._get(buildid, name, with_value=False)

    def getAllBuildDataNoValues(self, buildid: int) -> defer.Deferred[list[BuildDataModel]]:
        """Every datum of the build, without values, in the order they were added."""
        return self._get(buildid, None, with_value=False)

    def deleteOldBuildData(self, older_than_timestamp: int) -> defer.Deferred[int]:
        """Delete the data of builds completed before the time; return how many."""
        tbl, builds = self.db.model.build_data, self.db.model.builds
        old = sa.select(builds.c.id).where(builds.c.complete_at < older_than_timestamp)
        q = tbl.delete().where(tbl.c.buildid.in_(old))

        def thdDeleteOldBuildData(conn: sa.Connection) -> int:
            return conn.execute(q).rowcount

        return self.db.pool.do(thdDeleteOldBuildData)
