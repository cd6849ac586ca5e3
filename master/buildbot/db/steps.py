"""The `steps` table: the steps of each build."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base
from buildbot.util import epoch2datetime

# longest step name (the width of steps.name)
NAME_LENGTH = 50


@dataclasses.dataclass
class UrlModel:
    name: str
    url: str


@dataclasses.dataclass
class StepModel:
    id: int
    number: int
    name: str
    buildid: int
    started_at: datetime.datetime | None
    locks_acquired_at: datetime.datetime | None
    complete_at: datetime.datetime | None
    state_string: str
    results: int | None
    urls: list[UrlModel]
    hidden: bool = False


def urls_from_json(urls_json: str) -> list[UrlModel]:
    return [UrlModel(name=u["name"], url=u["url"]) for u in json.loads(urls_json or "[]")]


def model_from_row(row) -> StepModel:
    return StepModel(
        id=row.id,
        number=row.number,
        name=row.name,
        buildid=row.buildid,
        started_at=epoch2datetime(row.started_at),
        locks_acquired_at=epoch2datetime(row.locks_acquired_at),
        complete_at=epoch2datetime(row.complete_at),
        state_string=row.state_string,
        results=row.results,
        urls=urls_from_json(row.urls_json),
        hidden=bool(row.hidden),
    )


def unique_name(name: str, taken: set[str], length: int = NAME_LENGTH, first: int = 1) -> str:
    """`name`, or `name_1`, `name_2`... (from `first`; cut to `length`) if it is taken.

    Buildbot 4.3 numbers step names from _1 and log slugs from _2."""
    if name not in taken:
        return name
    num = first
    while True:
        suffix = f"_{num}"
        candidate = name[: length - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        num += 1


def step_where(tbl, stepid=None, buildid=None, number=None, name=None):
    """The where clause for getStep's ways of naming a step; ValueError if none fits."""
    if stepid is not None:
        return tbl.c.id == stepid
    if buildid is not None and number is not None:
        return (tbl.c.buildid == buildid) & (tbl.c.number == number)
    if buildid is not None and name is not None:
        return (tbl.c.buildid == buildid) & (tbl.c.name == name)
    raise ValueError("getStep needs a stepid, or a buildid with a number or a name")


class StepsConnectorComponent(base.DBConnectorComponent):
    def getStep(
        self,
        stepid: int | None = None,
        buildid: int | None = None,
        number: int | None = None,
        name: str | None = None,
    ) -> defer.Deferred[StepModel | None]:
        """The step with that id, or that number or name in the build; None if none."""
        tbl = self.db.model.steps
        try:
            q = tbl.select().where(step_where(tbl, stepid, buildid, number, name))
        except ValueError as e:
            return defer.fail(e)

        def thdGetStep(conn: sa.Connection) -> StepModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetStep)

    def getSteps(self, buildid: int) -> defer.Deferred[list[StepModel]]:
        """The steps of the build, by number."""
        tbl = self.db.model.steps
        q = self.statement(
            "getSteps",
            lambda: (
                tbl.select().where(tbl.c.buildid == sa.bindparam("buildid")).order_by(tbl.c.number)
            ),
        )

        def thdGetSteps(conn: sa.Connection) -> list[StepModel]:
            return [model_from_row(row) for row in conn.execute(q, {"buildid": buildid})]

        return self.db.pool.do(thdGetSteps)

    def addStep(
        self,
        buildid: int,
        name: str,
        state_string: str,
        started_at: int | None = None,
        locks_acquired: bool = False,
    ) -> defer.Deferred[tuple[int, int, str]]:
        """Add the next step of the build; returns (stepid, number, name).

        The name is made unique in the build with a `_N` suffix if needed.
        With `started_at` (an epoch) the step is added started, as `startStep`
        would mark it, in the same transaction.
        """
        tbl = self.db.model.steps
        name = self.ensureLength(tbl.c.name, name)
        existing = sa.select(tbl.c.number, tbl.c.name).where(tbl.c.buildid == buildid)

        def thdAddStep(conn: sa.Connection) -> tuple[int, int, str]:
            refused: set[str] = set()
            for _ in range(100):
                rows = conn.execute(existing).all()
                number = max((r.number for r in rows), default=-1) + 1
                taken = {r.name for r in rows} | refused
                step_name = unique_name(name, taken)
                insert = tbl.insert().values(
                    buildid=buildid,
                    number=number,
                    name=step_name,
                    started_at=started_at,
                    locks_acquired_at=started_at if locks_acquired else None,
                    complete_at=None,
                    state_string=state_string,
                    results=None,
                    urls_json="[]",
                    hidden=0,
                )
                try:
                    with base.retry_point(conn):
                        res = conn.execute(insert)
                    return res.inserted_primary_key[0], number, step_name
                except sa.exc.IntegrityError:
                    # a step added meanwhile, or (MySQL compares names without
                    # case) a name that only looked free: look again
                    refused.add(step_name)
            raise RuntimeError(f"could not add step {name!r} to build {buildid}")

        return self.db.pool.do(thdAddStep)

    def _update(self, stepid: int, **values) -> defer.Deferred[None]:
        tbl = self.db.model.steps
        q = tbl.update().where(tbl.c.id == stepid).values(**values)

        def thdUpdateStep(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdUpdateStep)

    def startStep(
        self, stepid: int, started_at: int | None = None, locks_acquired: bool = False
    ) -> defer.Deferred[None]:
        """Mark the step started (now unless `started_at`, an epoch, is given).

        With `locks_acquired`, its locks count as acquired at the same time.
        """
        if started_at is None:
            started_at = self._now()
        values = {"started_at": started_at}
        if locks_acquired:
            values["locks_acquired_at"] = started_at
        return self._update(stepid, **values)

    def set_step_locks_acquired_at(
        self, stepid: int, locks_acquired_at: int | None = None
    ) -> defer.Deferred[None]:
        """Record when the step got its locks (now unless given, as an epoch)."""
        if locks_acquired_at is None:
            locks_acquired_at = self._now()
        return self._update(stepid, locks_acquired_at=locks_acquired_at)

    def setStepStateString(self, stepid: int, state_string: str) -> defer.Deferred[None]:
        return self._update(stepid, state_string=state_string)

    def addURL(
        self,
        stepid: int,
        name: str,
        url: str,
        _racehook: Callable[[], None] | None = None,
    ) -> defer.Deferred[None]:
        """Add a link to the step, unless the same (name, url) is already there."""
        tbl = self.db.model.steps
        select = sa.select(tbl.c.urls_json).where(tbl.c.id == stepid)
        if self.db.pool.engine.dialect.name != "sqlite":
            # two masters adding links to one step must not lose one
            select = select.with_for_update()

        def thdAddURL(conn: sa.Connection) -> None:
            row = conn.execute(select).first()
            if row is None:
                return
            if _racehook is not None:
                _racehook()
            urls = json.loads(row.urls_json or "[]")
            entry = {"name": name, "url": url}
            if entry in urls:
                return
            urls.append(entry)
            conn.execute(tbl.update().where(tbl.c.id == stepid).values(urls_json=json.dumps(urls)))

        return self.db.pool.do(thdAddURL)

    def finishStep(
        self,
        stepid: int,
        results: int,
        hidden: bool,
        state_string: str | None = None,
        clear_locks_acquired: bool = False,
    ) -> defer.Deferred[None]:
        """Mark the step complete now, with its results (and its final state string,
        in the same statement, when given). `clear_locks_acquired` resets
        locks_acquired_at, for a step that never ran after all."""
        values: dict[str, Any] = {
            "complete_at": self._now(),
            "results": results,
            "hidden": 1 if hidden else 0,
        }
        if state_string is not None:
            values["state_string"] = state_string
        if clear_locks_acquired:
            values["locks_acquired_at"] = None
        return self._update(stepid, **values)
