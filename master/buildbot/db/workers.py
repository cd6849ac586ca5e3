"""The `workers` table, with where each worker is configured and connected."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base


@dataclasses.dataclass
class BuilderMasterModel:
    builderid: int
    masterid: int


@dataclasses.dataclass
class WorkerModel:
    id: int
    name: str
    workerinfo: dict[str, Any]
    paused: bool = False
    pause_reason: str | None = None
    graceful: bool = False
    configured_on: list[BuilderMasterModel] = dataclasses.field(default_factory=list)
    connected_to: list[int] = dataclasses.field(default_factory=list)


class WorkersConnectorComponent(base.DBConnectorComponent):
    def findWorkerId(self, name: str) -> defer.Deferred[int]:
        """The id of the worker called `name` (at most 50 characters), created if new."""
        tbl = self.db.model.workers
        try:
            self.checkLength(tbl.c.name, name)
        except RuntimeError as e:
            return defer.fail(e)
        return self.findSomethingId(
            tbl,
            tbl.c.name == name,
            {"name": name, "info": "{}", "paused": 0, "pause_reason": None, "graceful": 0},
        )

    def getWorker(
        self,
        workerid: int | None = None,
        name: str | None = None,
        masterid: int | None = None,
        builderid: int | None = None,
    ) -> defer.Deferred[WorkerModel | None]:
        """The worker with that id or name, or None; `masterid`/`builderid` narrow
        it down as in `getWorkers`."""
        if workerid is None and name is None:
            return defer.fail(ValueError("getWorker needs a workerid or a name"))
        d = self._getWorkers(workerid, name, masterid, builderid, None, None)
        d.addCallback(lambda workers: workers[0] if workers else None)
        return d

    def getWorkers(
        self,
        masterid: int | None = None,
        builderid: int | None = None,
        paused: bool | None = None,
        graceful: bool | None = None,
    ) -> defer.Deferred[list[WorkerModel]]:
        """Workers ordered by id.

        With `masterid` and/or `builderid`, only workers configured there, and
        their `configured_on` lists only those places; `masterid` also narrows
        `connected_to` to that master.
        """
        return self._getWorkers(None, None, masterid, builderid, paused, graceful)

    def _getWorkers(
        self,
        workerid: int | None,
        name: str | None,
        masterid: int | None,
        builderid: int | None,
        paused: bool | None,
        graceful: bool | None,
    ) -> defer.Deferred[list[WorkerModel]]:
        args = (workerid, name, masterid, builderid, paused, graceful)
        if args == (None,) * 6:
            # all the workers (the REST list): the same statements every time
            queries = self.statement("getWorkers", lambda: self._worker_queries(*args))
        else:
            queries = self._worker_queries(*args)
        q_workers, q_configured, q_connected = queries

        def thdGetWorkers(conn: sa.Connection) -> list[WorkerModel]:
            configured: dict[int, list[BuilderMasterModel]] = defaultdict(list)
            for row in conn.execute(q_configured):
                configured[row.workerid].append(BuilderMasterModel(row.builderid, row.masterid))
            connected: dict[int, list[int]] = defaultdict(list)
            for row in conn.execute(q_connected):
                connected[row.workerid].append(row.masterid)
            return [
                WorkerModel(
                    id=row.id,
                    name=row.name,
                    workerinfo=json.loads(row.info) if row.info else {},
                    paused=bool(row.paused),
                    pause_reason=row.pause_reason,
                    graceful=bool(row.graceful),
                    configured_on=configured[row.id],
                    connected_to=connected[row.id],
                )
                for row in conn.execute(q_workers)
            ]

        return self.db.pool.do(thdGetWorkers)

    def _worker_queries(
        self,
        workerid: int | None,
        name: str | None,
        masterid: int | None,
        builderid: int | None,
        paused: bool | None,
        graceful: bool | None,
    ) -> tuple[sa.Select, sa.Select, sa.Select]:
        """(workers, their builder/master places, their connections) of a getWorkers."""
        model = self.db.model
        w, cw, bm = model.workers, model.configured_workers, model.builder_masters
        conn_tbl = model.connected_workers

        place = []
        if masterid is not None:
            place.append(bm.c.masterid == masterid)
        if builderid is not None:
            place.append(bm.c.builderid == builderid)

        conditions = []
        if workerid is not None:
            conditions.append(w.c.id == workerid)
        if name is not None:
            conditions.append(w.c.name == name)
        if paused is not None:
            conditions.append(w.c.paused != 0 if paused else w.c.paused == 0)
        if graceful is not None:
            conditions.append(w.c.graceful != 0 if graceful else w.c.graceful == 0)
        if place:
            conditions.append(
                w.c.id.in_(
                    sa.select(cw.c.workerid).join(bm, bm.c.id == cw.c.buildermasterid).where(*place)
                )
            )
        where = sa.and_(sa.true(), *conditions)
        selected = sa.select(w.c.id).where(where)

        q_workers = w.select().where(where).order_by(w.c.id)
        q_configured = (
            sa.select(cw.c.workerid, bm.c.builderid, bm.c.masterid)
            .join(bm, bm.c.id == cw.c.buildermasterid)
            .where(cw.c.workerid.in_(selected), *place)
            .order_by(cw.c.workerid, bm.c.builderid, bm.c.masterid)
        )
        q_connected = (
            sa.select(conn_tbl.c.workerid, conn_tbl.c.masterid)
            .where(conn_tbl.c.workerid.in_(selected))
            .order_by(conn_tbl.c.workerid, conn_tbl.c.masterid)
        )
        if masterid is not None:
            q_connected = q_connected.where(conn_tbl.c.masterid == masterid)
        return q_workers, q_configured, q_connected

    def workerConnected(
        self, workerid: int, masterid: int, workerinfo: dict[str, Any]
    ) -> defer.Deferred[None]:
        """Record that the worker is connected to the master, with the info it sent.

        Connecting again is harmless; an unknown worker or master is ignored.
        """
        model = self.db.model
        w, m, conn_tbl = model.workers, model.masters, model.connected_workers
        worker_exists = sa.select(w.c.id).where(w.c.id == workerid)
        master_exists = sa.select(m.c.id).where(m.c.id == masterid)
        update = w.update().where(w.c.id == workerid).values(info=json.dumps(workerinfo))
        connected = sa.select(conn_tbl.c.id).where(
            (conn_tbl.c.workerid == workerid) & (conn_tbl.c.masterid == masterid)
        )
        insert = conn_tbl.insert().values(workerid=workerid, masterid=masterid)

        def thdWorkerConnected(conn: sa.Connection) -> None:
            if conn.execute(worker_exists).first() is None:
                return
            if conn.execute(master_exists).first() is None:
                return
            conn.execute(update)
            if conn.execute(connected).first() is not None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(insert)
            except sa.exc.IntegrityError:
                # the same connection recorded concurrently is fine
                if conn.execute(connected).first() is None:
                    raise

        return self.db.pool.do(thdWorkerConnected)

    def workerDisconnected(self, workerid: int, masterid: int) -> defer.Deferred[None]:
        """Forget that the worker is connected to the master."""
        tbl = self.db.model.connected_workers
        q = tbl.delete().where((tbl.c.workerid == workerid) & (tbl.c.masterid == masterid))

        def thdWorkerDisconnected(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdWorkerDisconnected)

    def workerConfigured(
        self, workerid: int, masterid: int, builderids: list[int]
    ) -> defer.Deferred[None]:
        """Make `builderids` the builders of this master the worker is configured on.

        Only builders the master runs (has a `builder_masters` row for) count;
        the worker's configuration on other masters is kept. An unknown worker
        is ignored.
        """
        model = self.db.model
        w, cw, bm = model.workers, model.configured_workers, model.builder_masters
        worker_exists = sa.select(w.c.id).where(w.c.id == workerid)
        delete = cw.delete().where(
            (cw.c.workerid == workerid)
            & cw.c.buildermasterid.in_(sa.select(bm.c.id).where(bm.c.masterid == masterid))
        )
        builderids = sorted(set(builderids))
        insert = cw.insert().from_select(
            ["buildermasterid", "workerid"],
            sa.select(bm.c.id, sa.literal(workerid, sa.Integer)).where(
                (bm.c.masterid == masterid) & bm.c.builderid.in_(builderids)
            ),
        )

        def thdWorkerConfigured(conn: sa.Connection) -> None:
            if conn.execute(worker_exists).first() is None:
                return
            conn.execute(delete)
            if builderids:
                conn.execute(insert)

        return self.db.pool.do(thdWorkerConfigured)

    def deconfigureAllWorkersForMaster(self, masterid: int) -> defer.Deferred[None]:
        """Drop every worker's configuration on the master's builders."""
        cw, bm = self.db.model.configured_workers, self.db.model.builder_masters
        q = cw.delete().where(
            cw.c.buildermasterid.in_(sa.select(bm.c.id).where(bm.c.masterid == masterid))
        )

        def thdDeconfigure(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdDeconfigure)

    def _update(self, workerid: int, **values: Any) -> defer.Deferred[None]:
        tbl = self.db.model.workers
        q = tbl.update().where(tbl.c.id == workerid).values(**values)

        def thdUpdateWorker(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdUpdateWorker)

    def set_worker_paused(
        self, workerid: int, paused: bool, pause_reason: str | None = None
    ) -> defer.Deferred[None]:
        """Pause (with an optional reason) or unpause the worker."""
        return self._update(workerid, paused=int(bool(paused)), pause_reason=pause_reason)

    def set_worker_graceful(self, workerid: int, graceful: bool) -> defer.Deferred[None]:
        """Ask the worker to shut down once idle, or cancel that."""
        return self._update(workerid, graceful=int(bool(graceful)))

    def setWorkerState(self, workerid: int, paused: bool, graceful: bool) -> defer.Deferred[None]:
        """Set both flags at once (older API); unpausing clears the pause reason."""
        values: dict[str, Any] = {"paused": int(bool(paused)), "graceful": int(bool(graceful))}
        if not paused:
            values["pause_reason"] = None
        return self._update(workerid, **values)
