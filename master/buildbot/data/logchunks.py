"""Log contents: lines of a log as one chunk, and the raw download."""

from __future__ import annotations

from collections.abc import AsyncIterator

from buildbot.data import base
from buildbot.data.logs import LogEndpointMixin
from buildbot.data.steps import LOG_PATHS

# the contents and raw downloads are not served under builder names (as in the reference)
BY_ID_LOG_PATHS = [p for p in LOG_PATHS if "s:buildername" not in p]


class LogChunkEndpoint(LogEndpointMixin):
    """`offset` is the first line (0-based), `limit` the number of lines."""

    # the reference lists the bare /logchunks (which always answers 404) as a root link
    rootLinkName = "logchunks"

    pathPatterns = "\n".join(["/logchunks", *(f"{p}/contents" for p in BY_ID_LOG_PATHS)])

    async def get(self, resultSpec, kwargs):
        if not kwargs:  # bare /logchunks names no log
            return None
        lg = await self.getLog(kwargs)
        if lg is None:
            return None
        first = (resultSpec.offset or 0) if resultSpec else 0
        limit = resultSpec.limit if resultSpec else None
        if resultSpec is not None:
            resultSpec.removePagination()
        if limit is None:
            if lg.num_lines == 0 and first == 0:
                return {"logid": lg.id, "firstline": 0, "content": ""}
            if first >= lg.num_lines:
                return None
            last = lg.num_lines - 1
        else:
            last = first + limit - 1
        content = await self.master.db.logs.getLogLines(lg.id, first, last)
        return {"logid": lg.id, "firstline": first, "content": content}


#: lines read from the DB per piece of a raw download (~1 MB of a typical log)
RAW_CHUNK_LINES = 10_000


class RawLogChunkEndpoint(LogEndpointMixin):
    """The whole log as text; `raw` is an async iterator of pieces, read from the DB
    as they are sent, so a download holds one piece in memory whatever the log size."""

    isRaw = True
    pathPatterns = "\n".join(f"{p}/raw" for p in BY_ID_LOG_PATHS)
    inline = False

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        lg = await self.getLog(kwargs)
        if lg is None:
            return None
        step = await db.steps.getStep(stepid=lg.stepid)
        build = await db.builds.getBuild(step.buildid)
        builder = await db.builders.getBuilder(build.builderid)
        header = ""
        if lg.type == "s":
            worker = await db.workers.getWorker(workerid=build.workerid) if build.workerid else None
            header = (
                f"Builder: {builder.name}\nBuild number: {build.number}\n"
                f"Worker name: {worker.name if worker else ''}\n"
            )
        result = {
            "raw": self._pieces(lg.id, lg.num_lines, header, strip=lg.type == "s"),
            "mime-type": "text/html" if lg.type == "h" else "text/plain",
        }
        if not self.inline:
            result["filename"] = (
                f"{builder.name}_build_{build.number}_step_{step.name}_log_{lg.slug}"
            )
        return result

    async def _pieces(
        self, logid: int, num_lines: int, header: str, strip: bool
    ) -> AsyncIterator[str]:
        if header:
            yield header
        first = 0
        while first < num_lines:
            last = min(first + RAW_CHUNK_LINES, num_lines) - 1
            text = await self.master.db.logs.getLogLines(logid, first, last)
            if strip:  # the stream letter that starts each line of a stdio log
                text = "".join(line[1:] for line in text.splitlines(keepends=True))
            yield text
            first = last + 1


class RawInlineLogChunkEndpoint(RawLogChunkEndpoint):
    pathPatterns = "\n".join(f"{p}/raw_inline" for p in BY_ID_LOG_PATHS)
    inline = True


class LogChunk(base.ResourceType):
    name = "logchunk"
    plural = "logchunks"
    endpoints = [LogChunkEndpoint, RawLogChunkEndpoint, RawInlineLogChunkEndpoint]
    keyField = "logid"
    fields = {"logid": "int", "firstline": "int", "content": "str"}
