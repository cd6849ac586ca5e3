from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.schedulers import SchedulerAlreadyClaimedError, SchedulerModel
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.test.fakedb.changesources import claim, matches_claim


class FakeSchedulersComponent(FakeDBComponent):
    def findSchedulerId(self, name):
        name_hash = base.hash_columns(name)
        row = self.t.select_one("schedulers", lambda r: r["name_hash"] == name_hash)
        if row is not None:
            return defer.succeed(row["id"])
        return defer.succeed(self.t.insert("schedulers", {"name": name, "name_hash": name_hash}))

    def enable(self, schedulerid, v):
        self.t.update("schedulers", lambda r: r["id"] == schedulerid, {"enabled": int(bool(v))})
        return defer.succeed(None)

    def setSchedulerMaster(self, schedulerid, masterid):
        if masterid is None:
            self.t.delete("scheduler_masters", lambda r: r["schedulerid"] == schedulerid)
            return defer.succeed(None)
        try:
            claim(
                self.t,
                "scheduler_masters",
                "schedulerid",
                "schedulers",
                schedulerid,
                masterid,
                SchedulerAlreadyClaimedError,
            )
        except Exception:
            return defer.fail()
        return defer.succeed(None)

    def _model(self, row):
        claimed = self.t.select_one("scheduler_masters", lambda r: r["schedulerid"] == row["id"])
        return SchedulerModel(
            id=row["id"],
            name=row["name"],
            enabled=True if row["enabled"] is None else bool(row["enabled"]),
            masterid=claimed["masterid"] if claimed else None,
        )

    def getScheduler(self, schedulerid):
        row = self.t.select_one("schedulers", lambda r: r["id"] == schedulerid)
        return defer.succeed(self._model(row) if row is not None else None)

    def getSchedulers(self, active=None, masterid=None):
        rows = sorted(self.t.select("schedulers"), key=lambda r: r["id"])
        models = [self._model(r) for r in rows]
        return defer.succeed([m for m in models if matches_claim(m.masterid, active, masterid)])

    def classifyChanges(self, schedulerid, classifications):
        for changeid, important in classifications.items():
            imp = int(bool(important))

            def match(r, changeid=changeid):
                return r["schedulerid"] == schedulerid and r["changeid"] == changeid

            if not self.t.update("scheduler_changes", match, {"important": imp}):
                self.t.insert(
                    "scheduler_changes",
                    {"schedulerid": schedulerid, "changeid": changeid, "important": imp},
                )
        return defer.succeed(None)

    def flushChangeClassifications(self, schedulerid, less_than=None, changeids=None):
        ids = None if changeids is None else set(changeids)
        self.t.delete(
            "scheduler_changes",
            lambda r: (
                r["schedulerid"] == schedulerid
                and (less_than is None or r["changeid"] < less_than)
                and (ids is None or r["changeid"] in ids)
            ),
        )
        return defer.succeed(None)

    def getChangeClassifications(
        self, schedulerid, branch=-1, repository=-1, project=-1, codebase=-1
    ):
        wanted = {
            k: v
            for k, v in (
                ("branch", branch),
                ("repository", repository),
                ("project", project),
                ("codebase", codebase),
            )
            if v != -1
        }
        result = {}
        for r in self.t.select("scheduler_changes", lambda r: r["schedulerid"] == schedulerid):
            if wanted:
                change = self.t.select_one("changes", lambda c, r=r: c["changeid"] == r["changeid"])
                if change is None or any(change[k] != v for k, v in wanted.items()):
                    continue
            result[r["changeid"]] = bool(r["important"])
        return defer.succeed(result)
