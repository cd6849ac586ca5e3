from __future__ import annotations

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db.buildrequests import (
    AlreadyClaimedError,
    NotClaimedError,
    make_model,
    unique_ids,
)
from buildbot.process.results import RETRY
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.test.fakedb.buildsets import atomic
from buildbot.util import datetime2epoch


class FakeBuildRequestsComponent(FakeDBComponent):
    def _claim(self, brid):
        return self.t.select_one("buildrequest_claims", lambda r: r["brid"] == brid)

    def _model(self, req):
        builder = self.t.select_one("builders", lambda r: r["id"] == req["builderid"])
        return make_model(req, self._claim(req["id"]), builder["name"] if builder else None)

    def getBuildRequest(self, brid):
        req = self.t.select_one("buildrequests", lambda r: r["id"] == brid)
        return defer.succeed(self._model(req) if req is not None else None)

    def _matches_sourcestamp(self, req, branch, repository):
        ssids = {
            r["sourcestampid"]
            for r in self.t.select(
                "buildset_sourcestamps", lambda r: r["buildsetid"] == req["buildsetid"]
            )
        }
        return any(
            (branch is None or ss["branch"] == branch)
            and (repository is None or ss["repository"] == repository)
            for ss in self.t.select("sourcestamps", lambda s: s["id"] in ssids)
        )

    def getBuildRequests(
        self,
        builderid=None,
        complete=None,
        claimed=None,
        bsid=None,
        branch=None,
        repository=None,
        resultSpec=None,
    ):
        out = []
        for req in sorted(self.t.select("buildrequests"), key=lambda r: r["id"]):
            claim = self._claim(req["id"])
            if claimed is True and claim is None:
                continue
            if claimed is False and (claim is not None or req["complete"]):
                continue
            if claimed is not None and not isinstance(claimed, bool):
                if claim is None or claim["masterid"] != claimed:
                    continue
            if builderid is not None and req["builderid"] != builderid:
                continue
            if complete is not None and bool(req["complete"]) != bool(complete):
                continue
            if bsid is not None and req["buildsetid"] != bsid:
                continue
            if (branch is not None or repository is not None) and not self._matches_sourcestamp(
                req, branch, repository
            ):
                continue
            out.append(self._model(req))
        return defer.succeed(out)

    def claimBuildRequests(self, brids, claimed_at=None):
        at = datetime2epoch(claimed_at) if claimed_at is not None else self._now()
        masterid = self.db.master.masterid
        try:
            with atomic(self.t):
                for brid in unique_ids(brids):
                    self.t.insert(
                        "buildrequest_claims",
                        {"brid": brid, "masterid": masterid, "claimed_at": at},
                    )
        except sa.exc.IntegrityError as e:
            return defer.fail(AlreadyClaimedError(str(e)))
        return defer.succeed(None)

    def unclaimBuildRequests(self, brids):
        brids = set(brids)
        masterid = self.db.master.masterid
        self.t.delete(
            "buildrequest_claims", lambda r: r["brid"] in brids and r["masterid"] == masterid
        )
        return defer.succeed(None)

    def completeBuildRequests(self, brids, results, complete_at=None):
        if results == RETRY:
            return defer.fail(ValueError("a build request cannot complete with RETRY"))
        at = datetime2epoch(complete_at) if complete_at is not None else self._now()
        masterid = self.db.master.masterid
        brids = unique_ids(brids)
        mine = {
            r["brid"]
            for r in self.t.select("buildrequest_claims", lambda r: r["masterid"] == masterid)
        }
        ok = {
            r["id"]
            for r in self.t.select(
                "buildrequests",
                lambda r: r["id"] in brids and not r["complete"] and r["id"] in mine,
            )
        }
        if len(ok) != len(brids):
            return defer.fail(NotClaimedError("some build requests are complete or not ours"))
        self.t.update(
            "buildrequests",
            lambda r: r["id"] in ok,
            {"complete": 1, "results": results, "complete_at": at},
        )
        return defer.succeed(None)

    def set_build_requests_priority(self, brids, priority):
        brids = unique_ids(brids)
        ok = {
            r["id"]
            for r in self.t.select(
                "buildrequests", lambda r: r["id"] in brids and not r["complete"]
            )
        }
        if len(ok) != len(brids):
            return defer.fail(NotClaimedError("some build requests are complete or unknown"))
        self.t.update("buildrequests", lambda r: r["id"] in ok, {"priority": priority})
        return defer.succeed(None)

    def releaseClaimsForMaster(self, masterid):
        incomplete = {r["id"] for r in self.t.select("buildrequests", lambda r: not r["complete"])}
        brids = sorted(
            r["brid"]
            for r in self.t.select(
                "buildrequest_claims",
                lambda r: r["masterid"] == masterid and r["brid"] in incomplete,
            )
        )
        released = set(brids)
        self.t.delete(
            "buildrequest_claims", lambda r: r["masterid"] == masterid and r["brid"] in released
        )
        return defer.succeed(brids)
