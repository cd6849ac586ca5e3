from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.changesources import ChangeSourceAlreadyClaimedError, ChangeSourceModel
from buildbot.test.fakedb.base import FakeDBComponent


def claim(t, claims, id_column, things, thingid, masterid, error):
    """The fake twin of `thd_claim` (shared with the fake schedulers)."""
    for table, wanted in ((things, thingid), ("masters", masterid)):
        if t.select_one(table, lambda r, wanted=wanted: r["id"] == wanted) is None:
            raise KeyError(f"no {table} row with id {wanted}")
    row = t.select_one(claims, lambda r: r[id_column] == thingid)
    if row is None:
        t.insert(claims, {id_column: thingid, "masterid": masterid})
        return
    if row["masterid"] == masterid:
        return
    master = t.select_one("masters", lambda r: r["id"] == row["masterid"])
    name = master["name"] if master else None
    raise error(f"{things} {thingid} is already claimed by master {name!r}")


def matches_claim(masterid_of_row, active, masterid) -> bool:
    if masterid is not None:
        return active is not False and masterid_of_row == masterid
    if active:
        return masterid_of_row is not None
    if active is False:
        return masterid_of_row is None
    return True


class FakeChangeSourcesComponent(FakeDBComponent):
    def findChangeSourceId(self, name):
        name_hash = base.hash_columns(name)
        row = self.t.select_one("changesources", lambda r: r["name_hash"] == name_hash)
        if row is not None:
            return defer.succeed(row["id"])
        return defer.succeed(self.t.insert("changesources", {"name": name, "name_hash": name_hash}))

    def setChangeSourceMaster(self, changesourceid, masterid):
        if masterid is None:
            self.t.delete("changesource_masters", lambda r: r["changesourceid"] == changesourceid)
            return defer.succeed(None)
        try:
            claim(
                self.t,
                "changesource_masters",
                "changesourceid",
                "changesources",
                changesourceid,
                masterid,
                ChangeSourceAlreadyClaimedError,
            )
        except Exception:
            return defer.fail()
        return defer.succeed(None)

    def _model(self, row):
        claimed = self.t.select_one(
            "changesource_masters", lambda r: r["changesourceid"] == row["id"]
        )
        return ChangeSourceModel(row["id"], row["name"], claimed["masterid"] if claimed else None)

    def getChangeSource(self, changesourceid):
        row = self.t.select_one("changesources", lambda r: r["id"] == changesourceid)
        return defer.succeed(self._model(row) if row is not None else None)

    def getChangeSources(self, active=None, masterid=None):
        models = [
            self._model(r) for r in sorted(self.t.select("changesources"), key=lambda r: r["id"])
        ]
        return defer.succeed([m for m in models if matches_claim(m.masterid, active, masterid)])
