from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.masters import MasterModel
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.util import epoch2datetime


def _model(row) -> MasterModel:
    return MasterModel(
        id=row["id"],
        name=row["name"],
        active=bool(row["active"]),
        last_active=epoch2datetime(row["last_active"]),
    )


class FakeMastersComponent(FakeDBComponent):
    def findMasterId(self, name):
        name_hash = base.hash_columns(name)
        row = self.t.select_one("masters", lambda r: r["name_hash"] == name_hash)
        if row is not None:
            return defer.succeed(row["id"])
        return defer.succeed(
            self.t.insert(
                "masters",
                {"name": name, "name_hash": name_hash, "active": 0, "last_active": self._now()},
            )
        )

    def setMasterState(self, masterid, active):
        row = self.t.select_one("masters", lambda r: r["id"] == masterid)
        if row is None:
            return defer.succeed(False)
        now = self._now()
        if active:
            changed = not row["active"]
            values = {"active": 1, "last_active": now}
            self.t.update("masters", lambda r: r["id"] == masterid, values)
            return defer.succeed(changed)
        if not row["active"]:
            return defer.succeed(False)
        self.t.update("masters", lambda r: r["id"] == masterid, {"active": 0})
        for table in ("scheduler_masters", "changesource_masters", "connected_workers"):
            self.t.delete(table, lambda r: r["masterid"] == masterid)
        bm_ids = {
            r["id"] for r in self.t.select("builder_masters", lambda r: r["masterid"] == masterid)
        }
        self.t.delete("configured_workers", lambda r: r["buildermasterid"] in bm_ids)
        self.t.delete("builder_masters", lambda r: r["masterid"] == masterid)
        return defer.succeed(True)

    def getMaster(self, masterid):
        row = self.t.select_one("masters", lambda r: r["id"] == masterid)
        return defer.succeed(_model(row) if row is not None else None)

    def getMasters(self):
        rows = sorted(self.t.select("masters"), key=lambda r: r["id"])
        return defer.succeed([_model(r) for r in rows])

    def setAllMastersActiveLongTimeAgo(self):
        self.t.update("masters", lambda r: True, {"active": 1, "last_active": 0})
        return defer.succeed(None)
