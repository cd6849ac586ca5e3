from __future__ import annotations

import json

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.steps import StepModel, UrlModel, unique_name
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.util import epoch2datetime


def _model(row) -> StepModel:
    return StepModel(
        id=row["id"],
        number=row["number"],
        name=row["name"],
        buildid=row["buildid"],
        started_at=epoch2datetime(row["started_at"]),
        locks_acquired_at=epoch2datetime(row["locks_acquired_at"]),
        complete_at=epoch2datetime(row["complete_at"]),
        state_string=row["state_string"],
        results=row["results"],
        urls=[UrlModel(u["name"], u["url"]) for u in json.loads(row["urls_json"] or "[]")],
        hidden=bool(row["hidden"]),
    )


class FakeStepsComponent(FakeDBComponent):
    def getStep(self, stepid=None, buildid=None, number=None, name=None):
        if stepid is not None:
            where = lambda r: r["id"] == stepid  # noqa: E731
        elif buildid is not None and number is not None:
            where = lambda r: r["buildid"] == buildid and r["number"] == number  # noqa: E731
        elif buildid is not None and name is not None:
            where = lambda r: r["buildid"] == buildid and r["name"] == name  # noqa: E731
        else:
            return defer.fail(
                ValueError("getStep needs a stepid, or a buildid with a number or a name")
            )
        row = self.t.select_one("steps", where)
        return defer.succeed(_model(row) if row is not None else None)

    def getSteps(self, buildid):
        rows = sorted(
            self.t.select("steps", lambda r: r["buildid"] == buildid), key=lambda r: r["number"]
        )
        return defer.succeed([_model(r) for r in rows])

    def addStep(self, buildid, name, state_string, started_at=None, locks_acquired=False):
        name = base.shorten(name, self.db.model.steps.c.name.type.length)
        rows = self.t.select("steps", lambda r: r["buildid"] == buildid)
        number = max((r["number"] for r in rows), default=-1) + 1
        name = unique_name(name, {r["name"] for r in rows})
        stepid = self.t.insert(
            "steps",
            {
                "buildid": buildid,
                "number": number,
                "name": name,
                "state_string": state_string,
                "urls_json": "[]",
                "hidden": 0,
                "started_at": started_at,
                "locks_acquired_at": started_at if locks_acquired else None,
            },
        )
        return defer.succeed((stepid, number, name))

    def _update(self, stepid, **values):
        self.t.update("steps", lambda r: r["id"] == stepid, values)
        return defer.succeed(None)

    def startStep(self, stepid, started_at=None, locks_acquired=False):
        if started_at is None:
            started_at = self._now()
        values = {"started_at": started_at}
        if locks_acquired:
            values["locks_acquired_at"] = started_at
        return self._update(stepid, **values)

    def set_step_locks_acquired_at(self, stepid, locks_acquired_at=None):
        if locks_acquired_at is None:
            locks_acquired_at = self._now()
        return self._update(stepid, locks_acquired_at=locks_acquired_at)

    def setStepStateString(self, stepid, state_string):
        return self._update(stepid, state_string=state_string)

    def addURL(self, stepid, name, url, _racehook=None):
        row = self.t.select_one("steps", lambda r: r["id"] == stepid)
        if row is None:
            return defer.succeed(None)
        if _racehook is not None:
            _racehook()
        urls = json.loads(row["urls_json"] or "[]")
        entry = {"name": name, "url": url}
        if entry not in urls:
            urls.append(entry)
            self._update(stepid, urls_json=json.dumps(urls))
        return defer.succeed(None)

    def finishStep(self, stepid, results, hidden, state_string=None, clear_locks_acquired=False):
        values = {"complete_at": self._now(), "results": results, "hidden": 1 if hidden else 0}
        if state_string is not None:
            values["state_string"] = state_string
        if clear_locks_acquired:
            values["locks_acquired_at"] = None
        return self._update(stepid, **values)
