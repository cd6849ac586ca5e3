from __future__ import annotations

from twisted.internet import defer

from buildbot.db import base, compression
from buildbot.db.logs import (
    Chunk,
    LogModel,
    check_content,
    check_log_type,
    compact_chunks,
    configured_method,
    make_chunks,
    read_lines,
)
from buildbot.db.steps import unique_name
from buildbot.test.fakedb.base import FakeDBComponent


def _model(row) -> LogModel:
    return LogModel(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        stepid=row["stepid"],
        complete=bool(row["complete"]),
        num_lines=row["num_lines"],
        type=row["type"],
    )


def _chunk(row) -> Chunk:
    return Chunk(row["first_line"], row["last_line"], row["content"], row["compressed"])


class FakeLogsComponent(FakeDBComponent):
    def _method(self) -> str:
        return configured_method(self.db.master)

    def _chunks(self, logid):
        rows = self.t.select("logchunks", lambda r: r["logid"] == logid)
        return [_chunk(r) for r in sorted(rows, key=lambda r: r["first_line"])]

    def getLog(self, logid):
        row = self.t.select_one("logs", lambda r: r["id"] == logid)
        return defer.succeed(_model(row) if row is not None else None)

    def getLogBySlug(self, stepid, slug):
        row = self.t.select_one("logs", lambda r: r["stepid"] == stepid and r["slug"] == slug)
        return defer.succeed(_model(row) if row is not None else None)

    def getLogs(self, stepid=None):
        rows = self.t.select("logs", lambda r: stepid is None or r["stepid"] == stepid)
        return defer.succeed([_model(r) for r in sorted(rows, key=lambda r: r["id"])])

    def getLogLines(self, logid, first_line, last_line):
        if first_line > last_line:
            return defer.succeed("")
        chunks = [
            c
            for c in self._chunks(logid)
            if c.last_line >= first_line and c.first_line <= last_line
        ]
        return defer.succeed(read_lines(chunks, first_line, last_line))

    def addLog(self, stepid, name, slug, type):
        try:
            check_log_type(type)
        except ValueError as e:
            return defer.fail(e)
        length = self.db.model.logs.c.slug.type.length
        slug = base.shorten(slug, length)
        taken = {r["slug"] for r in self.t.select("logs", lambda r: r["stepid"] == stepid)}
        values = {
            "name": name,
            "slug": unique_name(slug, taken, length, first=2),
            "stepid": stepid,
            "complete": 0,
            "num_lines": 0,
            "type": type,
        }
        return defer.succeed(self.t.insert("logs", values))

    def appendLog(self, logid, content, finish=False):
        method = self._method()
        try:
            check_content(content)
            compression.method_code(method)
        except ValueError as e:
            return defer.fail(e)
        row = self.t.select_one("logs", lambda r: r["id"] == logid)
        if row is None:
            return defer.succeed(None)
        chunks = make_chunks(content, row["num_lines"], method)
        for c in chunks:
            self.t.insert("logchunks", dict(c._asdict(), logid=logid))
        last_line = chunks[-1].last_line
        values = {"num_lines": last_line + 1}
        if finish:
            values["complete"] = 1
        self.t.update("logs", lambda r: r["id"] == logid, values)
        return defer.succeed((row["num_lines"], last_line))

    def finishLog(self, logid):
        self.t.update("logs", lambda r: r["id"] == logid, {"complete": 1})
        return defer.succeed(None)

    def compressLog(self, logid, force=False):
        method = self._method()
        try:
            compression.method_code(method)
        except ValueError as e:
            return defer.fail(e)
        chunks = self._chunks(logid)
        compacted = compact_chunks(chunks, method, force)
        if compacted is None:
            return defer.succeed(0)
        self.t.delete("logchunks", lambda r: r["logid"] == logid)
        for c in compacted:
            self.t.insert("logchunks", dict(c._asdict(), logid=logid))
        saved = sum(len(c.content) for c in chunks) - sum(len(c.content) for c in compacted)
        return defer.succeed(saved)

    def deleteOldLogChunks(self, older_than_timestamp):
        old_steps = {
            r["id"]
            for r in self.t.select(
                "steps",
                lambda r: r["started_at"] is not None and r["started_at"] < older_than_timestamp,
            )
        }
        self.t.update(
            "logs", lambda r: r["type"] != "d" and r["stepid"] in old_steps, {"type": "d"}
        )
        deleted_logs = {r["id"] for r in self.t.select("logs", lambda r: r["type"] == "d")}
        return defer.succeed(self.t.delete("logchunks", lambda r: r["logid"] in deleted_logs))
