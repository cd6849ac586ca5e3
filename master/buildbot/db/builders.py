"""The `builders` table, with the masters running each builder and its tags."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.db.tags import thd_find_tag_id


@dataclasses.dataclass
class BuilderModel:
    id: int
    name: str
    description: str | None = None
    description_format: str | None = None
    description_html: str | None = None
    projectid: int | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    masterids: list[int] = dataclasses.field(default_factory=list)


class BuildersConnectorComponent(base.DBConnectorComponent):
    def findBuilderId(self, name: str, autoCreate: bool = True) -> defer.Deferred[int | None]:
        """The id of the builder called `name`; a new one is created unless
        `autoCreate` is false, in which case a missing builder gives None."""
        tbl = self.db.model.builders
        name_hash = self.hashColumns(name)
        if autoCreate:
            return self.findSomethingId(
                tbl, tbl.c.name_hash == name_hash, {"name": name, "name_hash": name_hash}
            )
        q = sa.select(tbl.c.id).where(tbl.c.name_hash == name_hash)

        def thdFindBuilderId(conn: sa.Connection) -> int | None:
            row = conn.execute(q).first()
            return row.id if row is not None else None

        return self.db.pool.do(thdFindBuilderId)

    def addBuilderMaster(
        self, builderid: int | None = None, masterid: int | None = None
    ) -> defer.Deferred[None]:
        """Record that `masterid` runs `builderid` (nothing happens if it already does)."""
        tbl = self.db.model.builder_masters
        where = (tbl.c.builderid == builderid) & (tbl.c.masterid == masterid)
        exists = sa.select(tbl.c.id).where(where)
        insert = tbl.insert().values(builderid=builderid, masterid=masterid)

        def thdAddBuilderMaster(conn: sa.Connection) -> None:
            if conn.execute(exists).first() is not None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert)
            except sa.exc.IntegrityError:
                # lost a race with an identical insert: fine; anything else is not
                if base.thd_reread(conn, exists) is None:
                    raise

        return self.db.pool.do(thdAddBuilderMaster)

    def removeBuilderMaster(
        self, builderid: int | None = None, masterid: int | None = None
    ) -> defer.Deferred[None]:
        """Forget that `masterid` runs `builderid`, with the workers configured there."""
        model = self.db.model
        bm = model.builder_masters
        where = (bm.c.builderid == builderid) & (bm.c.masterid == masterid)
        cw = model.configured_workers
        # not left to ON DELETE CASCADE: SQLite does not enforce foreign keys here
        delete_configured = cw.delete().where(
            cw.c.buildermasterid.in_(sa.select(bm.c.id).where(where))
        )
        delete_bm = bm.delete().where(where)

        def thdRemoveBuilderMaster(conn: sa.Connection) -> None:
            conn.execute(delete_configured)
            conn.execute(delete_bm)

        return self.db.pool.do(thdRemoveBuilderMaster)

    def getBuilder(self, builderid: int) -> defer.Deferred[BuilderModel | None]:
        """The builder with that id, or None."""
        d = self._getBuilders(self.db.model.builders.c.id == builderid)
        d.addCallback(lambda builders: builders[0] if builders else None)
        return d

    def getBuilders(
        self,
        masterid: int | None = None,
        projectid: int | None = None,
        workerid: int | None = None,
    ) -> defer.Deferred[list[BuilderModel]]:
        """Builders ordered by id: all, or those run by `masterid`, in `projectid`,
        or with `workerid` configured on them (filters combine)."""
        model = self.db.model
        bldr = model.builders
        bm = model.builder_masters
        conditions = []
        if masterid is not None:
            conditions.append(
                bldr.c.id.in_(sa.select(bm.c.builderid).where(bm.c.masterid == masterid))
            )
        if projectid is not None:
            conditions.append(bldr.c.projectid == projectid)
        if workerid is not None:
            cw = model.configured_workers
            conditions.append(
                bldr.c.id.in_(
                    sa.select(bm.c.builderid)
                    .join(cw, cw.c.buildermasterid == bm.c.id)
                    .where(cw.c.workerid == workerid)
                )
            )
        if not conditions:
            # all the builders (the REST list): the same statements every time
            queries = self.statement("getBuilders", lambda: self._builder_queries(sa.true()))
            return self._run_builder_queries(*queries)
        return self._getBuilders(sa.and_(sa.true(), *conditions))

    def _getBuilders(self, where) -> defer.Deferred[list[BuilderModel]]:
        return self._run_builder_queries(*self._builder_queries(where))

    def _builder_queries(self, where) -> tuple[sa.Select, sa.Select, sa.Select]:
        """(builders, their masters, their tags) for the builders matching `where`."""
        model = self.db.model
        bldr, bm, bt, tags = (
            model.builders,
            model.builder_masters,
            model.builders_tags,
            model.tags,
        )
        q_builders = bldr.select().where(where).order_by(bldr.c.id)
        selected = sa.select(bldr.c.id).where(where)
        q_masters = (
            sa.select(bm.c.builderid, bm.c.masterid)
            .where(bm.c.builderid.in_(selected))
            .order_by(bm.c.builderid, bm.c.masterid)
        )
        q_tags = (
            sa.select(bt.c.builderid, tags.c.name)
            .join(tags, tags.c.id == bt.c.tagid)
            .where(bt.c.builderid.in_(selected))
        )
        return q_builders, q_masters, q_tags

    def _run_builder_queries(
        self, q_builders: sa.Select, q_masters: sa.Select, q_tags: sa.Select
    ) -> defer.Deferred[list[BuilderModel]]:
        def thdGetBuilders(conn: sa.Connection) -> list[BuilderModel]:
            masterids: dict[int, list[int]] = defaultdict(list)
            for row in conn.execute(q_masters):
                masterids[row.builderid].append(row.masterid)
            tag_names: dict[int, list[str]] = defaultdict(list)
            for row in conn.execute(q_tags):
                tag_names[row.builderid].append(row.name)
            return [
                BuilderModel(
                    id=row.id,
                    name=row.name,
                    description=row.description,
                    description_format=row.description_format,
                    description_html=row.description_html,
                    projectid=row.projectid,
                    tags=sorted(tag_names[row.id]),
                    masterids=masterids[row.id],
                )
                for row in conn.execute(q_builders)
            ]

        return self.db.pool.do(thdGetBuilders)

    def updateBuilderInfo(
        self,
        builderid: int,
        description: str | None,
        description_format: str | None,
        description_html: str | None,
        projectid: int | None,
        tags: list[str] | None,
    ) -> defer.Deferred[None]:
        """Set a builder's description, project and tags (tag names, created as needed).

        Everything is written in one transaction; an unknown builder is left alone.
        """
        model = self.db.model
        bldr, bt = model.builders, model.builders_tags
        exists = sa.select(bldr.c.id).where(bldr.c.id == builderid)
        update = (
            bldr.update()
            .where(bldr.c.id == builderid)
            .values(
                description=description,
                description_format=description_format,
                description_html=description_html,
                projectid=projectid,
            )
        )
        delete_tags = bt.delete().where(bt.c.builderid == builderid)
        tag_names = list(dict.fromkeys(tags or []))

        def thdUpdateBuilderInfo(conn: sa.Connection) -> None:
            if conn.execute(exists).first() is None:
                return
            conn.execute(update)
            conn.execute(delete_tags)
            for name in tag_names:
                tagid = thd_find_tag_id(conn, model.tags, name)
                conn.execute(bt.insert().values(builderid=builderid, tagid=tagid))

        return self.db.pool.do(thdUpdateBuilderInfo)
