"""Steps: the parts of a build, in order."""

from __future__ import annotations

from typing import Any

from buildbot.data import base

_BUILD_PREFIXES = [
    "/builds/n:buildid",
    "/builders/n:builderid/builds/n:build_number",
    "/builders/s:buildername/builds/n:build_number",
]
#: the paths naming one step (other than /steps/<id>)
STEP_PATHS = [
    f"{prefix}/steps/{step}"
    for prefix in _BUILD_PREFIXES
    for step in ("i:step_name", "n:step_number")
]
#: the paths naming one log
LOG_PATHS = ["/logs/n:logid", "/steps/n:stepid/logs/i:log_slug"] + [
    f"{p}/logs/i:log_slug" for p in STEP_PATHS
]


def step_dict(s: Any) -> dict[str, Any]:
    return {
        "stepid": s.id,
        "number": s.number,
        "name": s.name,
        "buildid": s.buildid,
        "started_at": s.started_at,
        "locks_acquired_at": s.locks_acquired_at,
        "complete": s.complete_at is not None,
        "complete_at": s.complete_at,
        "results": s.results,
        "state_string": s.state_string,
        "urls": [{"name": u.name, "url": u.url} for u in s.urls],
        "hidden": s.hidden,
    }


class StepEndpoint(base.Endpoint):
    pathPatterns = "\n".join(["/steps/n:stepid", *STEP_PATHS])

    async def get(self, resultSpec, kwargs):
        step = await self.getStep(kwargs)
        return step_dict(step) if step is not None else None


class StepsEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "\n".join(f"{p}/steps" for p in _BUILD_PREFIXES)

    async def get(self, resultSpec, kwargs):
        if "buildid" in kwargs:
            # an unknown build has no steps: no need to read the build first
            buildid = kwargs["buildid"]
        else:
            build = await self.getBuild(kwargs)
            if build is None:
                return []
            buildid = build.id
        return [step_dict(s) for s in await self.master.db.steps.getSteps(buildid)]


class Step(base.ResourceType):
    name = "step"
    plural = "steps"
    endpoints = [StepEndpoint, StepsEndpoint]
    keyField = "stepid"
    fields = {
        "stepid": "int",
        "number": "int",
        "name": "id(50)",
        "buildid": "int",
        "started_at": "ts?",
        "locks_acquired_at": "ts?",
        "complete": "bool",
        "complete_at": "ts?",
        "results": "int?",
        "state_string": "str",
        "urls": "[entity(Url)]",
        "hidden": "bool",
    }
    eventPathPatterns = """
        /builds/:buildid/steps/:stepid
        /steps/:stepid
    """

    @base.updateMethod
    async def addStep(
        self, buildid: int, name: str, start: bool = False, locks_acquired: bool = False
    ) -> tuple[int, int, str]:
        """Add the next step of the build ('pending'); returns (stepid, number, name).

        With `start` (our extension) it is also started, as `startStep(stepid,
        locks_acquired=locks_acquired)` would, in the same write.
        """
        started_at = int(self.master.reactor.seconds()) if start else None
        stepid, number, name = await self.master.db.steps.addStep(
            buildid, name, "pending", started_at=started_at, locks_acquired=locks_acquired
        )
        await self.generateEvent(stepid, *(("new", "started") if start else ("new",)))
        return stepid, number, name

    @base.updateMethod
    async def startStep(
        self, stepid: int, started_at: int | None = None, locks_acquired: bool = False
    ) -> None:
        await self.master.db.steps.startStep(
            stepid, started_at=started_at, locks_acquired=locks_acquired
        )
        await self.generateEvent(stepid, "started")

    @base.updateMethod
    async def set_step_locks_acquired_at(
        self, stepid: int, locks_acquired_at: int | None = None
    ) -> None:
        await self.master.db.steps.set_step_locks_acquired_at(stepid, locks_acquired_at)
        await self.generateEvent(stepid, "updated")

    @base.updateMethod
    async def setStepStateString(self, stepid: int, state_string: str) -> None:
        await self.master.db.steps.setStepStateString(stepid, state_string)
        await self.generateEvent(stepid, "updated")

    @base.updateMethod
    async def addStepURL(self, stepid: int, name: str, url: str) -> None:
        await self.master.db.steps.addURL(stepid, name, url)
        await self.generateEvent(stepid, "updated")

    @base.updateMethod
    async def finishStep(
        self,
        stepid: int,
        results: int,
        hidden: bool,
        state_string: str | None = None,
        clear_locks_acquired: bool = False,
    ) -> None:
        """Complete the step; `state_string` and `clear_locks_acquired` (our
        extensions) set its final state string and reset locks_acquired_at in the
        same write."""
        await self.master.db.steps.finishStep(
            stepid,
            results,
            hidden,
            state_string=state_string,
            clear_locks_acquired=clear_locks_acquired,
        )
        await self.generateEvent(stepid, "finished")
