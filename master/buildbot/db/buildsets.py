"""Buildsets: a request to build some sourcestamps on some builders.

Adding a buildset also adds its properties, its sourcestamp links and one
build request per builder, all in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.util import datetime2epoch, epoch2datetime


class AlreadyCompleteError(RuntimeError):
    """The buildset was completed already (two requests finishing at once)."""


@dataclasses.dataclass
class BuildSetModel:
    bsid: int
    external_idstring: str | None
    reason: str | None
    submitted_at: datetime.datetime
    complete: bool = False
    complete_at: datetime.datetime | None = None
    results: int | None = None
    parent_buildid: int | None = None
    parent_relationship: str | None = None
    rebuilt_buildid: int | None = None
    sourcestamps: list[int] = dataclasses.field(default_factory=list)


def model_from_row(row: Any, sourcestamps: list[int]) -> BuildSetModel:
    """`row` may be a SQLAlchemy row or a fake's dict."""
    get = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    return BuildSetModel(
        bsid=get("id"),
        external_idstring=get("external_idstring"),
        reason=get("reason"),
        submitted_at=epoch2datetime(get("submitted_at")),
        complete=bool(get("complete")),
        complete_at=epoch2datetime(get("complete_at")),
        results=get("results"),
        parent_buildid=get("parent_buildid"),
        parent_relationship=get("parent_relationship"),
        rebuilt_buildid=get("rebuilt_buildid"),
        sourcestamps=sourcestamps,
    )


def check_addBuildset_args(
    component: Any, sourcestamps, reason, properties, waited_for, external_idstring
):
    """Argument checks shared with the fake; raises on bad input."""
    if not isinstance(waited_for, bool):
        raise TypeError(f"waited_for must be a bool, not {waited_for!r}")
    for ssid in sourcestamps:
        if not isinstance(ssid, int):
            raise TypeError(f"sourcestamps must be sourcestamp ids, not {ssid!r}")
    model = component.db.model
    component.checkLength(model.buildsets.c.reason, reason)
    component.checkLength(model.buildsets.c.external_idstring, external_idstring)
    for name in properties or {}:
        component.checkLength(model.buildset_properties.c.property_name, name)


class BuildsetsConnectorComponent(base.DBConnectorComponent):
    def addBuildset(
        self,
        sourcestamps: list[int],
        reason: str | None,
        properties: dict[str, tuple[Any, str]] | None,
        builderids: list[int],
        waited_for: bool,
        external_idstring: str | None = None,
        submitted_at: datetime.datetime | None = None,
        rebuilt_buildid: int | None = None,
        parent_buildid: int | None = None,
        parent_relationship: str | None = None,
        priority: int = 0,
    ) -> defer.Deferred[tuple[int, dict[int, int]]]:
        """Add a buildset; return (bsid, {builderid: buildrequestid}).

        `sourcestamps` are sourcestamp ids; `properties` maps a name to
        (value, source).
        """
        try:
            check_addBuildset_args(
                self, sourcestamps, reason, properties, waited_for, external_idstring
            )
        except (TypeError, RuntimeError) as e:
            return defer.fail(e)
        model = self.db.model
        submitted = datetime2epoch(submitted_at) if submitted_at is not None else self._now()
        bs_values = {
            "submitted_at": submitted,
            "reason": reason,
            "external_idstring": external_idstring,
            "complete": 0,
            "complete_at": None,
            "results": -1,
            "rebuilt_buildid": rebuilt_buildid,
            "parent_buildid": parent_buildid,
            "parent_relationship": parent_relationship,
        }
        props = [
            {"property_name": name, "property_value": json.dumps([value, source])}
            for name, (value, source) in (properties or {}).items()
        ]
        ssids = list(dict.fromkeys(sourcestamps))
        builderids = list(builderids)

        def thdAddBuildset(conn: sa.Connection) -> tuple[int, dict[int, int]]:
            bsid = conn.execute(model.buildsets.insert().values(**bs_values)).inserted_primary_key[
                0
            ]
            if props:
                conn.execute(
                    model.buildset_properties.insert(),
                    [{"buildsetid": bsid, **p} for p in props],
                )
            if ssids:
                conn.execute(
                    model.buildset_sourcestamps.insert(),
                    [{"buildsetid": bsid, "sourcestampid": ssid} for ssid in ssids],
                )
            brids = {}
            for builderid in builderids:
                # one at a time: a multi-row insert does not give back its ids
                res = conn.execute(
                    model.buildrequests.insert().values(
                        buildsetid=bsid,
                        builderid=builderid,
                        priority=priority,
                        complete=0,
                        results=-1,
                        submitted_at=submitted,
                        complete_at=None,
                        waited_for=1 if waited_for else 0,
                    )
                )
                brids[builderid] = res.inserted_primary_key[0]
            return bsid, brids

        return self.db.pool.do(thdAddBuildset)

    def completeBuildset(
        self, bsid: int, results: int, complete_at: datetime.datetime | None = None
    ) -> defer.Deferred[None]:
        """Mark the buildset complete; AlreadyCompleteError if it was (or is unknown)."""
        tbl = self.db.model.buildsets
        at = datetime2epoch(complete_at) if complete_at is not None else self._now()
        q = (
            tbl.update()
            .where((tbl.c.id == bsid) & ((tbl.c.complete == sa.null()) | (tbl.c.complete == 0)))
            .values(complete=1, results=results, complete_at=at)
        )

        def thdCompleteBuildset(conn: sa.Connection) -> None:
            if conn.execute(q).rowcount != 1:
                raise AlreadyCompleteError(f"buildset {bsid} is already complete or unknown")

        return self.db.pool.do(thdCompleteBuildset)

    def _thd_models(self, conn: sa.Connection, rows: list) -> list[BuildSetModel]:
        """Models for buildset rows, their sourcestamps fetched in one query."""
        if not rows:
            return []
        bss = self.db.model.buildset_sourcestamps
        ids = [row.id for row in rows]
        ssids: dict[int, list[int]] = {i: [] for i in ids}
        q = (
            sa.select(bss.c.buildsetid, bss.c.sourcestampid)
            .where(bss.c.buildsetid.in_(ids))
            .order_by(bss.c.id)
        )
        for r in conn.execute(q):
            ssids[r.buildsetid].append(r.sourcestampid)
        return [model_from_row(row, ssids[row.id]) for row in rows]

    def getBuildset(self, bsid: int) -> defer.Deferred[BuildSetModel | None]:
        tbl = self.db.model.buildsets
        q = tbl.select().where(tbl.c.id == bsid)

        def thdGetBuildset(conn: sa.Connection) -> BuildSetModel | None:
            models = self._thd_models(conn, conn.execute(q).fetchall())
            return models[0] if models else None

        return self.db.pool.do(thdGetBuildset)

    def _complete_filter(self, complete: bool | None):
        tbl = self.db.model.buildsets
        if complete is None:
            return sa.true()
        if complete:
            return tbl.c.complete != 0
        return (tbl.c.complete == 0) | (tbl.c.complete == sa.null())

    def getBuildsets(
        self, complete: bool | None = None, resultSpec: Any = None
    ) -> defer.Deferred[list[BuildSetModel]]:
        """Buildsets by id; `complete` filters. (`resultSpec` is not applied here.)"""
        tbl = self.db.model.buildsets
        q = tbl.select().where(self._complete_filter(complete)).order_by(tbl.c.id)

        def thdGetBuildsets(conn: sa.Connection) -> list[BuildSetModel]:
            return self._thd_models(conn, conn.execute(q).fetchall())

        return self.db.pool.do(thdGetBuildsets)

    def getRecentBuildsets(
        self,
        count: int | None = None,
        branch: str | None = None,
        repository: str | None = None,
        complete: bool | None = None,
    ) -> defer.Deferred[list[BuildSetModel]]:
        """The `count` most recently submitted buildsets, oldest first.

        `branch` / `repository` keep buildsets with a sourcestamp matching them.
        """
        model = self.db.model
        tbl = model.buildsets
        q = tbl.select().where(self._complete_filter(complete))
        if branch or repository:
            bss, ss = model.buildset_sourcestamps, model.sourcestamps
            match = sa.select(bss.c.id).join(ss, ss.c.id == bss.c.sourcestampid)
            match = match.where(bss.c.buildsetid == tbl.c.id)
            if branch:
                match = match.where(ss.c.branch == branch)
            if repository:
                match = match.where(ss.c.repository == repository)
            q = q.where(match.exists())
        q = q.order_by(tbl.c.submitted_at.desc(), tbl.c.id.desc())
        if count is not None:
            q = q.limit(count)

        def thdGetRecentBuildsets(conn: sa.Connection) -> list[BuildSetModel]:
            return list(reversed(self._thd_models(conn, conn.execute(q).fetchall())))

        return self.db.pool.do(thdGetRecentBuildsets)

    def getBuildsetProperties(self, bsid: int) -> defer.Deferred[dict[str, tuple[Any, str]]]:
        """{name: (value, source)} of the buildset ({} if unknown)."""
        tbl = self.db.model.buildset_properties
        q = sa.select(tbl.c.property_name, tbl.c.property_value).where(tbl.c.buildsetid == bsid)

        def thdGetBuildsetProperties(conn: sa.Connection) -> dict[str, tuple[Any, str]]:
            return decode_properties((r.property_name, r.property_value) for r in conn.execute(q))

        return self.db.pool.do(thdGetBuildsetProperties)


def decode_properties(pairs) -> dict[str, tuple[Any, str]]:
    """{name: (value, source)} from (name, JSON "[value, source]") pairs; bad JSON skipped."""
    props = {}
    for name, encoded in pairs:
        try:
            value, source = json.loads(encoded)
        except (ValueError, TypeError):
            continue
        props[name] = (value, source)
    return props
