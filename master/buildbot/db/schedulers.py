"""The `schedulers` table, which master runs each scheduler, and its change classifications."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.db.changesources import filter_claimed, thd_claim
from buildbot.util import chunkify


class SchedulerAlreadyClaimedError(Exception):
    pass


@dataclasses.dataclass
class SchedulerModel:
    id: int
    name: str
    enabled: bool = True
    masterid: int | None = None


def model_from_row(row: Any) -> SchedulerModel:
    # NULL `enabled` (rows from old schemas) counts as enabled, like the column default
    enabled = True if row.enabled is None else bool(row.enabled)
    return SchedulerModel(id=row.id, name=row.name, enabled=enabled, masterid=row.masterid)


class SchedulersConnectorComponent(base.DBConnectorComponent):
    def findSchedulerId(self, name: str) -> defer.Deferred[int]:
        """The id of the scheduler called `name`, registering it (enabled) if new."""
        tbl = self.db.model.schedulers
        name_hash = self.hashColumns(name)
        return self.findSomethingId(
            tbl, tbl.c.name_hash == name_hash, {"name": name, "name_hash": name_hash}
        )

    def enable(self, schedulerid: int, v: bool) -> defer.Deferred[None]:
        """Enable or disable a scheduler (unknown ids are ignored)."""
        tbl = self.db.model.schedulers
        q = tbl.update().where(tbl.c.id == schedulerid).values(enabled=int(bool(v)))

        def thdEnable(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdEnable)

    def setSchedulerMaster(self, schedulerid: int, masterid: int | None) -> defer.Deferred[None]:
        """Claim a scheduler for a master, or release it (masterid None).

        Claiming one another master holds raises SchedulerAlreadyClaimedError;
        claiming it again for the same master is a no-op.
        """
        m = self.db.model
        sm = m.scheduler_masters

        def thdSetSchedulerMaster(conn: sa.Connection) -> None:
            if masterid is None:
                conn.execute(sm.delete().where(sm.c.schedulerid == schedulerid))
                return
            thd_claim(
                conn,
                m,
                sm,
                sm.c.schedulerid,
                m.schedulers,
                schedulerid,
                masterid,
                SchedulerAlreadyClaimedError,
            )

        return self.db.pool.do(thdSetSchedulerMaster)

    def _select(self) -> sa.Select:
        s, sm = self.db.model.schedulers, self.db.model.scheduler_masters
        return sa.select(s.c.id, s.c.name, s.c.enabled, sm.c.masterid).select_from(
            s.outerjoin(sm, sm.c.schedulerid == s.c.id)
        )

    def getScheduler(self, schedulerid: int) -> defer.Deferred[SchedulerModel | None]:
        """The scheduler with that id, or None."""
        q = self._select().where(self.db.model.schedulers.c.id == schedulerid)

        def thdGetScheduler(conn: sa.Connection) -> SchedulerModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetScheduler)

    def getSchedulers(
        self, active: bool | None = None, masterid: int | None = None
    ) -> defer.Deferred[list[SchedulerModel]]:
        """Schedulers ordered by id: `active` ones have a master; or those of `masterid`."""
        s, sm = self.db.model.schedulers, self.db.model.scheduler_masters
        q = filter_claimed(self._select(), sm.c.masterid, active, masterid).order_by(s.c.id)

        def thdGetSchedulers(conn: sa.Connection) -> list[SchedulerModel]:
            return [model_from_row(r) for r in conn.execute(q)]

        return self.db.pool.do(thdGetSchedulers)

    # --- change classifications ---

    def classifyChanges(
        self, schedulerid: int, classifications: dict[int, bool]
    ) -> defer.Deferred[None]:
        """Record, for each change, whether it is important to the scheduler.

        A change classified again gets the new value.
        """
        tbl = self.db.model.scheduler_changes
        items = [(changeid, int(bool(imp))) for changeid, imp in classifications.items()]

        def thdClassifyChanges(conn: sa.Connection) -> None:
            for changeid, important in items:
                where = (tbl.c.schedulerid == schedulerid) & (tbl.c.changeid == changeid)
                res = conn.execute(tbl.update().where(where).values(important=important))
                if res.rowcount == 0:
                    conn.execute(
                        tbl.insert().values(
                            schedulerid=schedulerid, changeid=changeid, important=important
                        )
                    )

        return self.db.pool.do(thdClassifyChanges)

    def flushChangeClassifications(
        self,
        schedulerid: int,
        less_than: int | None = None,
        changeids: Iterable[int] | None = None,
    ) -> defer.Deferred[None]:
        """Forget the scheduler's classifications: all, those of changes below
        `less_than`, and/or only those of `changeids` (in one transaction)."""
        tbl = self.db.model.scheduler_changes
        where = tbl.c.schedulerid == schedulerid
        if less_than is not None:
            where = where & (tbl.c.changeid < less_than)
        ids = None if changeids is None else sorted(set(changeids))

        def thdFlush(conn: sa.Connection) -> None:
            if ids is None:
                conn.execute(tbl.delete().where(where))
                return
            for chunk in chunkify(ids, 100):
                conn.execute(tbl.delete().where(where & tbl.c.changeid.in_(chunk)))

        return self.db.pool.do(thdFlush)

    def getChangeClassifications(
        self,
        schedulerid: int,
        branch: Any = -1,
        repository: Any = -1,
        project: Any = -1,
        codebase: Any = -1,
    ) -> defer.Deferred[dict[int, bool]]:
        """changeid -> important for the scheduler's classified changes.

        Each of branch, repository, project and codebase, unless -1, keeps only
        changes with that value (a None branch means changes without one).
        """
        sc, ch = self.db.model.scheduler_changes, self.db.model.changes
        q = sa.select(sc.c.changeid, sc.c.important).where(sc.c.schedulerid == schedulerid)
        filters = [
            (ch.c.branch, branch),
            (ch.c.repository, repository),
            (ch.c.project, project),
            (ch.c.codebase, codebase),
        ]
        wanted = [(col, value) for col, value in filters if value != -1]
        if wanted:
            q = q.select_from(sc.join(ch, ch.c.changeid == sc.c.changeid))
            for col, value in wanted:
                q = q.where(col.is_(None) if value is None else col == value)

        def thdGetChangeClassifications(conn: sa.Connection) -> dict[int, bool]:
            return {r.changeid: bool(r.important) for r in conn.execute(q)}

        return self.db.pool.do(thdGetChangeClassifications)
