from __future__ import annotations

import json

from twisted.internet import defer

from buildbot.db.workers import BuilderMasterModel, WorkerModel
from buildbot.test.fakedb.base import FakeDBComponent


class FakeWorkersComponent(FakeDBComponent):
    def findWorkerId(self, name):
        try:
            self.checkLength(self.db.model.workers.c.name, name)
        except RuntimeError as e:
            return defer.fail(e)
        row = self.t.select_one("workers", lambda r: r["name"] == name)
        if row is not None:
            return defer.succeed(row["id"])
        return defer.succeed(
            self.t.insert(
                "workers",
                {"name": name, "info": "{}", "paused": 0, "pause_reason": None, "graceful": 0},
            )
        )

    def _places(self, masterid, builderid):
        """builder_masters rows matching the filters, by id."""

        def match(r):
            return (masterid is None or r["masterid"] == masterid) and (
                builderid is None or r["builderid"] == builderid
            )

        return {r["id"]: r for r in self.t.select("builder_masters", match)}

    def _get(self, workerid, name, masterid, builderid, paused, graceful):
        places = self._places(masterid, builderid)
        configured = sorted(
            (
                r["workerid"],
                places[r["buildermasterid"]]["builderid"],
                places[r["buildermasterid"]]["masterid"],
            )
            for r in self.t.select("configured_workers", lambda r: r["buildermasterid"] in places)
        )
        connected = sorted(
            (r["workerid"], r["masterid"])
            for r in self.t.select(
                "connected_workers", lambda r: masterid is None or r["masterid"] == masterid
            )
        )
        filtered = masterid is not None or builderid is not None
        configured_ids = {c[0] for c in configured}

        def match(r):
            return (
                (workerid is None or r["id"] == workerid)
                and (name is None or r["name"] == name)
                and (paused is None or bool(r["paused"]) == bool(paused))
                and (graceful is None or bool(r["graceful"]) == bool(graceful))
                and (not filtered or r["id"] in configured_ids)
            )

        return [
            WorkerModel(
                id=r["id"],
                name=r["name"],
                workerinfo=json.loads(r["info"]) if r["info"] else {},
                paused=bool(r["paused"]),
                pause_reason=r["pause_reason"],
                graceful=bool(r["graceful"]),
                configured_on=[BuilderMasterModel(b, m) for w, b, m in configured if w == r["id"]],
                connected_to=[m for w, m in connected if w == r["id"]],
            )
            for r in sorted(self.t.select("workers", match), key=lambda r: r["id"])
        ]

    def getWorker(self, workerid=None, name=None, masterid=None, builderid=None):
        if workerid is None and name is None:
            return defer.fail(ValueError("getWorker needs a workerid or a name"))
        workers = self._get(workerid, name, masterid, builderid, None, None)
        return defer.succeed(workers[0] if workers else None)

    def getWorkers(self, masterid=None, builderid=None, paused=None, graceful=None):
        return defer.succeed(self._get(None, None, masterid, builderid, paused, graceful))

    def _exists(self, table, rowid):
        return self.t.select_one(table, lambda r: r["id"] == rowid) is not None

    def workerConnected(self, workerid, masterid, workerinfo):
        if not self._exists("workers", workerid) or not self._exists("masters", masterid):
            return defer.succeed(None)
        self.t.update("workers", lambda r: r["id"] == workerid, {"info": json.dumps(workerinfo)})

        def same(r):
            return r["workerid"] == workerid and r["masterid"] == masterid

        if self.t.select_one("connected_workers", same) is None:
            self.t.insert("connected_workers", {"workerid": workerid, "masterid": masterid})
        return defer.succeed(None)

    def workerDisconnected(self, workerid, masterid):
        self.t.delete(
            "connected_workers", lambda r: r["workerid"] == workerid and r["masterid"] == masterid
        )
        return defer.succeed(None)

    def workerConfigured(self, workerid, masterid, builderids):
        if not self._exists("workers", workerid):
            return defer.succeed(None)
        places = self._places(masterid, None)
        self.t.delete(
            "configured_workers",
            lambda r: r["workerid"] == workerid and r["buildermasterid"] in places,
        )
        wanted = set(builderids)
        for bmid, bm in sorted(places.items()):
            if bm["builderid"] in wanted:
                self.t.insert("configured_workers", {"buildermasterid": bmid, "workerid": workerid})
        return defer.succeed(None)

    def deconfigureAllWorkersForMaster(self, masterid):
        places = self._places(masterid, None)
        self.t.delete("configured_workers", lambda r: r["buildermasterid"] in places)
        return defer.succeed(None)

    def _update(self, workerid, **values):
        self.t.update("workers", lambda r: r["id"] == workerid, values)
        return defer.succeed(None)

    def set_worker_paused(self, workerid, paused, pause_reason=None):
        return self._update(workerid, paused=int(bool(paused)), pause_reason=pause_reason)

    def set_worker_graceful(self, workerid, graceful):
        return self._update(workerid, graceful=int(bool(graceful)))

    def setWorkerState(self, workerid, paused, graceful):
        values = {"paused": int(bool(paused)), "graceful": int(bool(graceful))}
        if not paused:
            values["pause_reason"] = None
        return self._update(workerid, **values)
