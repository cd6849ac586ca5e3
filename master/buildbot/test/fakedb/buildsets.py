from __future__ import annotations

import contextlib
import copy
import json

from twisted.internet import defer

from buildbot.db.buildsets import (
    AlreadyCompleteError,
    check_addBuildset_args,
    decode_properties,
    model_from_row,
)
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.util import datetime2epoch


@contextlib.contextmanager
def atomic(tables):
    """Undo every row change made in the block if it raises, like a rollback."""
    saved = copy.deepcopy(tables.rows)
    try:
        yield
    except BaseException:
        tables.rows = saved
        raise


class FakeBuildsetsComponent(FakeDBComponent):
    def _model(self, row):
        ssids = [
            r["sourcestampid"]
            for r in sorted(
                self.t.select("buildset_sourcestamps", lambda r: r["buildsetid"] == row["id"]),
                key=lambda r: r["id"],
            )
        ]
        return model_from_row(row, ssids)

    def addBuildset(
        self,
        sourcestamps,
        reason,
        properties,
        builderids,
        waited_for,
        external_idstring=None,
        submitted_at=None,
        rebuilt_buildid=None,
        parent_buildid=None,
        parent_relationship=None,
        priority=0,
    ):
        try:
            check_addBuildset_args(
                self, sourcestamps, reason, properties, waited_for, external_idstring
            )
        except (TypeError, RuntimeError) as e:
            return defer.fail(e)
        submitted = datetime2epoch(submitted_at) if submitted_at is not None else self._now()
        try:
            with atomic(self.t):
                result = self._add(
                    sourcestamps,
                    reason,
                    properties,
                    builderids,
                    waited_for,
                    external_idstring,
                    submitted,
                    rebuilt_buildid,
                    parent_buildid,
                    parent_relationship,
                    priority,
                )
        except Exception as e:
            return defer.fail(e)
        return defer.succeed(result)

    def _add(
        self,
        sourcestamps,
        reason,
        properties,
        builderids,
        waited_for,
        external_idstring,
        submitted,
        rebuilt_buildid,
        parent_buildid,
        parent_relationship,
        priority,
    ):
        bsid = self.t.insert(
            "buildsets",
            {
                "submitted_at": submitted,
                "reason": reason,
                "external_idstring": external_idstring,
                "complete": 0,
                "complete_at": None,
                "results": -1,
                "rebuilt_buildid": rebuilt_buildid,
                "parent_buildid": parent_buildid,
                "parent_relationship": parent_relationship,
            },
        )
        for name, (value, source) in (properties or {}).items():
            self.t.insert(
                "buildset_properties",
                {
                    "buildsetid": bsid,
                    "property_name": name,
                    "property_value": json.dumps([value, source]),
                },
            )
        for ssid in dict.fromkeys(sourcestamps):
            self.t.insert("buildset_sourcestamps", {"buildsetid": bsid, "sourcestampid": ssid})
        brids = {}
        for builderid in builderids:
            brids[builderid] = self.t.insert(
                "buildrequests",
                {
                    "buildsetid": bsid,
                    "builderid": builderid,
                    "priority": priority,
                    "complete": 0,
                    "results": -1,
                    "submitted_at": submitted,
                    "complete_at": None,
                    "waited_for": 1 if waited_for else 0,
                },
            )
        return bsid, brids

    def completeBuildset(self, bsid, results, complete_at=None):
        at = datetime2epoch(complete_at) if complete_at is not None else self._now()
        n = self.t.update(
            "buildsets",
            lambda r: r["id"] == bsid and not r["complete"],
            {"complete": 1, "results": results, "complete_at": at},
        )
        if n != 1:
            return defer.fail(
                AlreadyCompleteError(f"buildset {bsid} is already complete or unknown")
            )
        return defer.succeed(None)

    def getBuildset(self, bsid):
        row = self.t.select_one("buildsets", lambda r: r["id"] == bsid)
        return defer.succeed(self._model(row) if row is not None else None)

    @staticmethod
    def _complete_ok(row, complete):
        return complete is None or bool(row["complete"]) == bool(complete)

    def getBuildsets(self, complete=None, resultSpec=None):
        rows = self.t.select("buildsets", lambda r: self._complete_ok(r, complete))
        return defer.succeed([self._model(r) for r in sorted(rows, key=lambda r: r["id"])])

    def getRecentBuildsets(self, count=None, branch=None, repository=None, complete=None):
        def matches(row):
            if not self._complete_ok(row, complete):
                return False
            if not (branch or repository):
                return True
            ssids = {
                r["sourcestampid"]
                for r in self.t.select(
                    "buildset_sourcestamps", lambda r: r["buildsetid"] == row["id"]
                )
            }
            return any(
                (not branch or ss["branch"] == branch)
                and (not repository or ss["repository"] == repository)
                for ss in self.t.select("sourcestamps", lambda s: s["id"] in ssids)
            )

        rows = sorted(
            self.t.select("buildsets", matches),
            key=lambda r: (r["submitted_at"], r["id"]),
            reverse=True,
        )
        if count is not None:
            rows = rows[:count]
        return defer.succeed([self._model(r) for r in reversed(rows)])

    def getBuildsetProperties(self, bsid):
        rows = self.t.select("buildset_properties", lambda r: r["buildsetid"] == bsid)
        return defer.succeed(
            decode_properties((r["property_name"], r["property_value"]) for r in rows)
        )
