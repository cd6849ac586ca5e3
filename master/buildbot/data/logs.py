"""Logs of steps (their lines are log chunks, see logchunks.py)."""

from __future__ import annotations

from typing import Any

from buildbot.data import base
from buildbot.data.steps import LOG_PATHS, STEP_PATHS


def log_dict(lg: Any) -> dict[str, Any]:
    return {
        "logid": lg.id,
        "name": lg.name,
        "slug": lg.slug,
        "stepid": lg.stepid,
        "complete": lg.complete,
        "num_lines": lg.num_lines,
        "type": lg.type,
    }


class LogEndpointMixin(base.Endpoint):
    async def getLog(self, kwargs: dict[str, Any]) -> Any:
        """The log model the path names, or None."""
        db = self.master.db
        if "logid" in kwargs:
            return await db.logs.getLog(kwargs["logid"])
        step = await self.getStep(kwargs)
        if step is None:
            return None
        return await db.logs.getLogBySlug(step.id, kwargs["log_slug"])


class LogEndpoint(LogEndpointMixin):
    pathPatterns = "\n".join(LOG_PATHS)

    async def get(self, resultSpec, kwargs):
        lg = await self.getLog(kwargs)
        return log_dict(lg) if lg is not None else None


class LogsEndpoint(base.Endpoint):
    isCollection = True
    pathPatterns = "\n".join(["/steps/n:stepid/logs", *(f"{p}/logs" for p in STEP_PATHS)])

    async def get(self, resultSpec, kwargs):
        step = await self.getStep(kwargs)
        if step is None:
            return []
        return [log_dict(lg) for lg in await self.master.db.logs.getLogs(step.id)]


class Log(base.ResourceType):
    name = "log"
    plural = "logs"
    endpoints = [LogEndpoint, LogsEndpoint]
    keyField = "logid"
    fields = {
        "logid": "int",
        "name": "str",
        "slug": "id(50)",
        "stepid": "int",
        "complete": "bool",
        "num_lines": "int",
        "type": "id(1)",
    }
    eventPathPatterns = """
        /logs/:logid
        /steps/:stepid/logs/:slug
    """

    @base.updateMethod
    async def addLog(self, stepid: int, name: str, type: str) -> int:
        """Add an empty log; its slug is the name made an identifier."""
        slug = base.force_identifier(50, name)
        logid = await self.master.db.logs.addLog(stepid, name, slug, type)
        await self.generateEvent(logid, "new")
        return logid

    @base.updateMethod
    async def appendLog(self, logid: int, content: str, finish: bool = False) -> Any:
        """Append whole lines; one `append` event per call.  With `finish` (our
        extension) the log is also finished, as `finishLog` would, in the same write."""
        res = await self.master.db.logs.appendLog(logid, content, finish=finish)
        await self.generateEvent(logid, *(("append", "finished") if finish else ("append",)))
        return res

    @base.updateMethod
    async def finishLog(self, logid: int) -> None:
        await self.master.db.logs.finishLog(logid)
        await self.generateEvent(logid, "finished")

    @base.updateMethod
    def compressLog(self, logid: int, force: bool = False):
        return self.master.db.logs.compressLog(logid, force=force)
