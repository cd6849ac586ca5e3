"""The `changesources` table and which master runs each change source."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


class ChangeSourceAlreadyClaimedError(Exception):
    pass


@dataclasses.dataclass
class ChangeSourceModel:
    id: int
    name: str
    masterid: int | None = None


class ChangeSourcesConnectorComponent(base.DBConnectorComponent):
    def findChangeSourceId(self, name: str) -> defer.Deferred[int]:
        """The id of the change source called `name`, registering it if new."""
        tbl = self.db.model.changesources
        name_hash = self.hashColumns(name)
        return self.findSomethingId(
            tbl, tbl.c.name_hash == name_hash, {"name": name, "name_hash": name_hash}
        )

    def setChangeSourceMaster(
        self, changesourceid: int, masterid: int | None
    ) -> defer.Deferred[None]:
        """Claim a change source for a master, or release it (masterid None).

        Claiming one another master holds raises ChangeSourceAlreadyClaimedError;
        claiming it again for the same master is a no-op.
        """
        m = self.db.model
        csm = m.changesource_masters

        def thdSetChangeSourceMaster(conn: sa.Connection) -> None:
            if masterid is None:
                conn.execute(csm.delete().where(csm.c.changesourceid == changesourceid))
                return
            thd_claim(
                conn,
                m,
                csm,
                csm.c.changesourceid,
                m.changesources,
                changesourceid,
                masterid,
                ChangeSourceAlreadyClaimedError,
            )

        return self.db.pool.do(thdSetChangeSourceMaster)

    def _select(self) -> sa.Select:
        cs, csm = self.db.model.changesources, self.db.model.changesource_masters
        return sa.select(cs.c.id, cs.c.name, csm.c.masterid).select_from(
            cs.outerjoin(csm, csm.c.changesourceid == cs.c.id)
        )

    def getChangeSource(self, changesourceid: int) -> defer.Deferred[ChangeSourceModel | None]:
        """The change source with that id, or None."""
        q = self._select().where(self.db.model.changesources.c.id == changesourceid)

        def thdGetChangeSource(conn: sa.Connection) -> ChangeSourceModel | None:
            row = conn.execute(q).first()
            return ChangeSourceModel(row.id, row.name, row.masterid) if row else None

        return self.db.pool.do(thdGetChangeSource)

    def getChangeSources(
        self, active: bool | None = None, masterid: int | None = None
    ) -> defer.Deferred[list[ChangeSourceModel]]:
        """Change sources ordered by id: `active` ones have a master; or those of `masterid`."""
        cs, csm = self.db.model.changesources, self.db.model.changesource_masters
        q = filter_claimed(self._select(), csm.c.masterid, active, masterid).order_by(cs.c.id)

        def thdGetChangeSources(conn: sa.Connection) -> list[ChangeSourceModel]:
            return [ChangeSourceModel(r.id, r.name, r.masterid) for r in conn.execute(q)]

        return self.db.pool.do(thdGetChangeSources)


def filter_claimed(
    q: sa.Select, masterid_col: sa.Column, active: bool | None, masterid: int | None
) -> sa.Select:
    """Filter an outer join with a `*_masters` table by `active` and `masterid`."""
    if masterid is not None:
        if active is False:
            return q.where(sa.false())
        return q.where(masterid_col == masterid)
    if active:
        return q.where(masterid_col.is_not(None))
    if active is False:
        return q.where(masterid_col.is_(None))
    return q


def thd_claim(
    conn: sa.Connection,
    m,
    claims: sa.Table,
    claim_id_col: sa.Column,
    things: sa.Table,
    thingid: int,
    masterid: int,
    error: type[Exception],
) -> None:
    """Insert a claim row (one per thing), raising `error` if another master holds it.

    Shared by change sources and schedulers.
    """
    for table, wanted in ((things, thingid), (m.masters, masterid)):
        if conn.execute(sa.select(table.c.id).where(table.c.id == wanted)).first() is None:
            raise KeyError(f"no {table.name} row with id {wanted}")
    try:
        with conn.begin_nested():
            conn.execute(claims.insert().values({claim_id_col.name: thingid, "masterid": masterid}))
        return
    except sa.exc.IntegrityError as e:
        conflict = e
    q = (
        sa.select(m.masters.c.name, claims.c.masterid)
        .select_from(claims.join(m.masters, m.masters.c.id == claims.c.masterid))
        .where(claim_id_col == thingid)
    )
    row = base.thd_reread(conn, q)
    if row is None:
        # the conflicting claim was released meanwhile; let the caller retry
        raise conflict
    if row.masterid == masterid:
        return
    raise error(f"{things.name} {thingid} is already claimed by master {row.name!r}")
