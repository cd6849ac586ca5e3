from __future__ import annotations

import json

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db.builds import ADD_BUILD_ATTEMPTS, check_property, model_from_mapping, ss_key
from buildbot.process.results import SUCCESS
from buildbot.test.fakedb.base import FakeDBComponent


class FakeBuildsComponent(FakeDBComponent):
    def _one(self, where):
        row = self.t.select_one("builds", where)
        return defer.succeed(model_from_mapping(row) if row is not None else None)

    def _list(self, where):
        rows = sorted(self.t.select("builds", where), key=lambda r: r["id"])
        return defer.succeed([model_from_mapping(r) for r in rows])

    def getBuild(self, buildid):
        return self._one(lambda r: r["id"] == buildid)

    def getBuildByNumber(self, builderid, number):
        return self._one(lambda r: r["builderid"] == builderid and r["number"] == number)

    def getBuilds(
        self, builderid=None, buildrequestid=None, workerid=None, complete=None, resultSpec=None
    ):
        def where(r):
            return (
                (builderid is None or r["builderid"] == builderid)
                and (buildrequestid is None or r["buildrequestid"] == buildrequestid)
                and (workerid is None or r["workerid"] == workerid)
                and (complete is None or (r["complete_at"] is not None) == bool(complete))
            )

        return self._list(where)

    def _buildset_of(self, buildrequestid):
        req = self.t.select_one("buildrequests", lambda r: r["id"] == buildrequestid)
        return req["buildsetid"] if req is not None else None

    def getBuildsForChange(self, changeid):
        change = self.t.select_one("changes", lambda r: r["changeid"] == changeid)
        if change is None:
            return defer.succeed([])
        bsids = {
            r["buildsetid"]
            for r in self.t.select(
                "buildset_sourcestamps", lambda r: r["sourcestampid"] == change["sourcestampid"]
            )
        }
        return self._list(lambda r: self._buildset_of(r["buildrequestid"]) in bsids)

    def get_triggered_builds(self, buildid):
        bsids = {
            r["id"] for r in self.t.select("buildsets", lambda r: r["parent_buildid"] == buildid)
        }
        return self._list(lambda r: self._buildset_of(r["buildrequestid"]) in bsids)

    def _ss_keys(self, build):
        bsid = self._buildset_of(build["buildrequestid"])
        ssids = {
            r["sourcestampid"]
            for r in self.t.select("buildset_sourcestamps", lambda r: r["buildsetid"] == bsid)
        }
        return {ss_key(ss) for ss in self.t.select("sourcestamps", lambda s: s["id"] in ssids)}

    def getPrevSuccessfulBuild(self, builderid, number, ssBuild):
        wanted = {ss_key(ss) for ss in ssBuild}
        candidates = self.t.select(
            "builds",
            lambda r: (
                r["builderid"] == builderid and r["number"] < number and r["results"] == SUCCESS
            ),
        )
        for build in sorted(candidates, key=lambda r: r["number"], reverse=True):
            if self._ss_keys(build) == wanted:
                return defer.succeed(model_from_mapping(build))
        return defer.succeed(None)

    def addBuild(
        self, builderid, buildrequestid, workerid, masterid, state_string, _race_hook=None
    ):
        for arg, given in (
            ("builderid", builderid),
            ("buildrequestid", buildrequestid),
            ("masterid", masterid),
            ("state_string", state_string),
        ):
            if given is None:
                return defer.fail(ValueError(f"addBuild: {arg} may not be None"))
        number = 1 + max(
            (r["number"] for r in self.t.select("builds", lambda r: r["builderid"] == builderid)),
            default=0,
        )
        for attempt in range(ADD_BUILD_ATTEMPTS):
            if _race_hook is not None:
                # the fake has no connection: the hook gets the tables
                _race_hook(self.t)
            try:
                buildid = self.t.insert(
                    "builds",
                    {
                        "number": number,
                        "builderid": builderid,
                        "buildrequestid": buildrequestid,
                        "workerid": workerid,
                        "masterid": masterid,
                        "started_at": self._now(),
                        "complete_at": None,
                        "locks_duration_s": 0,
                        "state_string": state_string,
                    },
                )
            except sa.exc.IntegrityError as e:
                if attempt == ADD_BUILD_ATTEMPTS - 1:
                    return defer.fail(e)
                number += 1
                continue
            return defer.succeed((buildid, number))
        raise AssertionError("not reached")

    def _update(self, buildid, values):
        self.t.update("builds", lambda r: r["id"] == buildid, values)
        return defer.succeed(None)

    def setBuildStateString(self, buildid, state_string):
        return self._update(buildid, {"state_string": state_string})

    def add_build_locks_duration(self, buildid, duration_s):
        row = self.t.select_one("builds", lambda r: r["id"] == buildid)
        if row is not None:
            self._update(buildid, {"locks_duration_s": row["locks_duration_s"] + duration_s})
        return defer.succeed(None)

    def finishBuild(self, buildid, results):
        return self._update(buildid, {"complete_at": self._now(), "results": results})

    def getBuildProperties(self, buildid, resultSpec=None):
        rows = self.t.select("build_properties", lambda r: r["buildid"] == buildid)
        return defer.succeed({r["name"]: (json.loads(r["value"]), r["source"]) for r in rows})

    def setBuildProperties(self, buildid, properties):
        try:
            for name, (value, source) in properties.items():
                check_property(self, name, source)
                json.dumps(value)
        except (RuntimeError, TypeError, ValueError) as e:
            return defer.fail(e)
        old = {
            r["name"]: (r["value"], r["source"])
            for r in self.t.select("build_properties", lambda r: r["buildid"] == buildid)
        }
        changed = {}
        for name, (value, source) in properties.items():
            if old.get(name) != (json.dumps(value), source):
                self.setBuildProperty(buildid, name, value, source)
                changed[name] = (value, source)
        return defer.succeed(changed)

    def setBuildProperty(self, buildid, name, value, source):
        try:
            check_property(self, name, source)
            encoded = json.dumps(value)
        except (RuntimeError, TypeError, ValueError) as e:
            return defer.fail(e)

        def where(r):
            return r["buildid"] == buildid and r["name"] == name

        if self.t.update("build_properties", where, {"value": encoded, "source": source}) == 0:
            self.t.insert(
                "build_properties",
                {"buildid": buildid, "name": name, "value": encoded, "source": source},
            )
        return defer.succeed(None)
