"""The `masters` table: which masters exist and which are alive."""

from __future__ import annotations

import dataclasses
import datetime

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.util import epoch2datetime


@dataclasses.dataclass
class MasterModel:
    id: int
    name: str
    active: bool
    last_active: datetime.datetime | None


def model_from_row(row) -> MasterModel:
    return MasterModel(
        id=row.id,
        name=row.name,
        active=bool(row.active),
        last_active=epoch2datetime(row.last_active),
    )


class MastersConnectorComponent(base.DBConnectorComponent):
    def findMasterId(self, name: str) -> defer.Deferred[int]:
        """The id of the master called `name`, registering it (inactive) if new."""
        tbl = self.db.model.masters
        name_hash = self.hashColumns(name)
        return self.findSomethingId(
            tbl,
            tbl.c.name_hash == name_hash,
            {"name": name, "name_hash": name_hash, "active": 0, "last_active": self._now()},
        )

    def setMasterState(self, masterid: int, active: bool) -> defer.Deferred[bool]:
        """Mark a master active (refreshing `last_active`) or inactive.

        Returns whether `active` changed. Deactivating a master also drops what
        only a live master holds: its claims on schedulers and change sources,
        its builders' registrations and its connected workers.
        """
        model = self.db.model
        now = self._now()

        def thdSetMasterState(conn: sa.Connection) -> bool:
            tbl = model.masters
            where = tbl.c.id == masterid
            if active:
                res = conn.execute(
                    tbl.update()
                    .where(where & (tbl.c.active == 0))
                    .values(active=1, last_active=now)
                )
                changed = res.rowcount > 0
                if not changed:
                    conn.execute(tbl.update().where(where).values(last_active=now))
                return changed
            res = conn.execute(tbl.update().where(where & (tbl.c.active != 0)).values(active=0))
            if res.rowcount == 0:
                return False
            for table in (
                model.scheduler_masters,
                model.changesource_masters,
                model.connected_workers,
            ):
                conn.execute(table.delete().where(table.c.masterid == masterid))
            bm = model.builder_masters
            conn.execute(
                model.configured_workers.delete().where(
                    model.configured_workers.c.buildermasterid.in_(
                        sa.select(bm.c.id).where(bm.c.masterid == masterid)
                    )
                )
            )
            conn.execute(bm.delete().where(bm.c.masterid == masterid))
            return True

        return self.db.pool.do(thdSetMasterState)

    def getMaster(self, masterid: int) -> defer.Deferred[MasterModel | None]:
        """The master with that id, or None if there is none."""
        tbl = self.db.model.masters
        q = tbl.select().where(tbl.c.id == masterid)

        def thdGetMaster(conn: sa.Connection) -> MasterModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetMaster)

    def getMasters(self) -> defer.Deferred[list[MasterModel]]:
        """Every master, ordered by id."""
        tbl = self.db.model.masters
        q = tbl.select().order_by(tbl.c.id)

        def thdGetMasters(conn: sa.Connection) -> list[MasterModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetMasters)

    def setAllMastersActiveLongTimeAgo(self) -> defer.Deferred[None]:
        """Mark every master active but long unseen (tests of dead-master handling)."""
        tbl = self.db.model.masters
        q = tbl.update().values(active=1, last_active=0)

        def thdSet(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdSet)
