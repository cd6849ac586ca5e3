from __future__ import annotations

from twisted.internet import defer

from buildbot.db.build_data import check_build_data, model_from_mapping
from buildbot.test.fakedb.base import FakeDBComponent


class FakeBuildDataComponent(FakeDBComponent):
    def setBuildData(self, buildid, name, value, source):
        try:
            check_build_data(self, name, value, source)
        except (TypeError, RuntimeError) as e:
            return defer.fail(e)
        values = {"value": value, "length": len(value), "source": source}
        if not self.t.update(
            "build_data", lambda r: r["buildid"] == buildid and r["name"] == name, values
        ):
            self.t.insert("build_data", {"buildid": buildid, "name": name, **values})
        return defer.succeed(None)

    def _get(self, buildid, name, with_value):
        rows = sorted(
            self.t.select(
                "build_data",
                lambda r: r["buildid"] == buildid and (name is None or r["name"] == name),
            ),
            key=lambda r: r["id"],
        )
        models = [model_from_mapping(r, with_value) for r in rows]
        if name is None:
            return defer.succeed(models)
        return defer.succeed(models[0] if models else None)

    def getBuildData(self, buildid, name):
        return self._get(buildid, name, with_value=True)

    def getBuildDataNoValue(self, buildid, name):
        return self._get(buildid, name, with_value=False)

    def getAllBuildDataNoValues(self, buildid):
        return self._get(buildid, None, with_value=False)

    def deleteOldBuildData(self, older_than_timestamp):
        old = {
            r["id"]
            for r in self.t.select(
                "builds",
                lambda r: r["complete_at"] is not None and r["complete_at"] < older_than_timestamp,
            )
        }
        return defer.succeed(self.t.delete("build_data", lambda r: r["buildid"] in old))
