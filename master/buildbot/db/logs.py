"""The `logs` and `logchunks` tables: step logs, stored as compressed chunks of lines.

How lines become chunks (and back) is in the functions at the top, shared with
the fake so that both store the very same chunks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from twisted.internet import defer

from buildbot.db import base, compression
from buildbot.db.steps import unique_name

#: most bytes of lines (newlines included) in one appended chunk
MAX_CHUNK_SIZE = 65536
#: most bytes stored in one chunk (the width of logchunks.content)
MAX_STORED_SIZE = 65536
#: most lines in a chunk made by re-compaction
MAX_COMPACT_LINES = 1000
#: chunks deleted per transaction when expiring logs
DELETE_BATCH_SIZE = 1000

LOG_TYPES = ("s", "t", "h", "d")


@dataclasses.dataclass
class LogModel:
    id: int
    name: str
    slug: str
    stepid: int
    complete: bool
    num_lines: int
    type: str


class Chunk(NamedTuple):
    first_line: int
    last_line: int
    content: bytes
    compressed: int


def configured_method(master: Any) -> str:
    """The compression method named by the master's config, else the default."""
    method = getattr(getattr(master, "config", None), "logCompressionMethod", None)
    return method or compression.default_method()


def check_content(content: str) -> None:
    if not content.endswith("\n"):
        raise ValueError("log content must be whole lines, each ending with a newline")


def _truncate_utf8(data: bytes, size: int) -> bytes:
    return data[:size].decode("utf-8", errors="ignore").encode("utf-8")


def make_chunks(content: str, first_line: int, method: str) -> list[Chunk]:
    """Split whole lines (`content` ends with a newline) into chunks to store.

    A chunk holds consecutive lines of at most MAX_CHUNK_SIZE bytes in all;
    it is stored without its last newline. A longer line is stored alone,
    truncated if even compressed it does not fit.
    """
    check_content(content)
    data = content.encode("utf-8")
    chunks: list[Chunk] = []
    line_no = first_line
    pos = 0
    end = len(data)
    # cut at newlines with bytes methods: a log of 200,000 lines is 300 chunks, not
    # 200,000 rounds of Python
    while pos < end:
        cut = data.rfind(b"\n", pos, pos + MAX_CHUNK_SIZE)
        if cut >= 0:
            count = data.count(b"\n", pos, cut + 1)
            code, stored = compression.compress(method, data[pos:cut])
            chunks.append(Chunk(line_no, line_no + count - 1, stored, code))
        else:  # a line longer than a chunk, stored alone
            cut = data.index(b"\n", pos)
            count = 1
            line = data[pos:cut]
            code, stored = compression.compress(method, line)
            if len(stored) > MAX_STORED_SIZE:
                code, stored = compression.compress(
                    method, _truncate_utf8(line, MAX_STORED_SIZE - 1)
                )
            chunks.append(Chunk(line_no, line_no, stored, code))
        line_no += count
        pos = cut + 1
    return chunks


def chunk_lines(chunk: Chunk) -> list[str]:
    text = compression.decompress(chunk.compressed, chunk.content or b"").decode(
        "utf-8", errors="replace"
    )
    return text.split("\n")


def read_lines(chunks: Iterable[Chunk], first_line: int, last_line: int) -> str:
    """Lines first_line..last_line (inclusive) found in `chunks`, each with its newline."""
    out = []
    for chunk in chunks:
        for number, line in enumerate(chunk_lines(chunk), start=chunk.first_line):
            if first_line <= number <= last_line:
                out.append(line + "\n")
    return "".join(out)


def compact_chunks(chunks: Sequence[Chunk], method: str, force: bool) -> list[Chunk] | None:
    """The chunks of a log (by first line) merged into fewer; None if not worth it.

    Adjacent chunks are grouped while their stored sizes add up to at most
    MAX_STORED_SIZE and the group spans at most MAX_COMPACT_LINES lines. With
    `force` every chunk is rewritten with `method`, even if none merges.
    """
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        if groups:
            group = groups[-1]
            size = sum(len(c.content) for c in group) + len(chunk.content)
            lines = chunk.last_line - group[0].first_line + 1
            if (
                size <= MAX_STORED_SIZE
                and lines <= MAX_COMPACT_LINES
                and chunk.first_line == group[-1].last_line + 1
            ):
                group.append(chunk)
                continue
        groups.append([chunk])
    if len(groups) == len(chunks) and not force:
        return None
    result = []
    for group in groups:
        if len(group) == 1 and not force:
            result.append(group[0])
            continue
        merged = b"\n".join(compression.decompress(c.compressed, c.content) for c in group)
        code, data = compression.compress(method, merged)
        if len(data) > MAX_STORED_SIZE:
            result.extend(group)  # would not fit once merged: keep as it was
        else:
            result.append(Chunk(group[0].first_line, group[-1].last_line, data, code))
    return result


def check_log_type(type: str) -> None:
    if type not in LOG_TYPES:
        raise ValueError(f"unknown log type {type!r}: one of {', '.join(LOG_TYPES)}")


def model_from_row(row) -> LogModel:
    return LogModel(
        id=row.id,
        name=row.name,
        slug=row.slug,
        stepid=row.stepid,
        complete=bool(row.complete),
        num_lines=row.num_lines,
        type=row.type,
    )


class LogsConnectorComponent(base.DBConnectorComponent):
    #: chunks deleted per transaction by deleteOldLogChunks
    delete_batch_size = DELETE_BATCH_SIZE

    def _method(self) -> str:
        return configured_method(self.master)

    def _get_one(self, whereclause) -> defer.Deferred[LogModel | None]:
        tbl = self.db.model.logs
        q = tbl.select().where(whereclause)

        def thdGetLog(conn: sa.Connection) -> LogModel | None:
            row = conn.execute(q).first()
            return model_from_row(row) if row is not None else None

        return self.db.pool.do(thdGetLog)

    def getLog(self, logid: int) -> defer.Deferred[LogModel | None]:
        return self._get_one(self.db.model.logs.c.id == logid)

    def getLogBySlug(self, stepid: int, slug: str) -> defer.Deferred[LogModel | None]:
        tbl = self.db.model.logs
        return self._get_one((tbl.c.stepid == stepid) & (tbl.c.slug == slug))

    def getLogs(self, stepid: int | None = None) -> defer.Deferred[list[LogModel]]:
        """The logs of the step (of every step if None), by id."""
        tbl = self.db.model.logs
        q = tbl.select().order_by(tbl.c.id)
        if stepid is not None:
            q = q.where(tbl.c.stepid == stepid)

        def thdGetLogs(conn: sa.Connection) -> list[LogModel]:
            return [model_from_row(row) for row in conn.execute(q)]

        return self.db.pool.do(thdGetLogs)

    def getLogLines(self, logid: int, first_line: int, last_line: int) -> defer.Deferred[str]:
        """Lines first_line..last_line (0-based, inclusive) of the log, as one string.

        Each line ends with a newline; lines the log does not have are left out.
        """
        tbl = self.db.model.logchunks
        q = (
            sa.select(tbl.c.first_line, tbl.c.last_line, tbl.c.content, tbl.c.compressed)
            .where(tbl.c.logid == logid)
            .where(tbl.c.last_line >= first_line)
            .where(tbl.c.first_line <= last_line)
            .order_by(tbl.c.first_line)
        )

        def thdGetLogLines(conn: sa.Connection) -> str:
            if first_line > last_line:
                return ""
            return read_lines((Chunk(*row) for row in conn.execute(q)), first_line, last_line)

        return self.db.pool.do(thdGetLogLines)

    def addLog(self, stepid: int, name: str, slug: str, type: str) -> defer.Deferred[int]:
        """Add an empty log to the step; returns its id.

        A slug already used in the step gets a `_N` suffix.
        """
        tbl = self.db.model.logs
        try:
            check_log_type(type)
        except ValueError as e:
            return defer.fail(e)
        slug = self.ensureLength(tbl.c.slug, slug)
        slug_length = tbl.c.slug.type.length
        slugs = sa.select(tbl.c.slug).where(tbl.c.stepid == stepid)

        def thdAddLog(conn: sa.Connection) -> int:
            refused: set[str] = set()
            for _ in range(100):
                taken = {r.slug for r in conn.execute(slugs)} | refused
                log_slug = unique_name(slug, taken, slug_length, first=2)
                insert = tbl.insert().values(
                    name=name, slug=log_slug, stepid=stepid, complete=0, num_lines=0, type=type
                )
                try:
                    with base.retry_point(conn):
                        return conn.execute(insert).inserted_primary_key[0]
                except sa.exc.IntegrityError:
                    # MySQL compares slugs without case: look again
                    refused.add(log_slug)
            raise RuntimeError(f"could not add log {slug!r} to step {stepid}")

        return self.db.pool.do(thdAddLog)

    def appendLog(
        self, logid: int, content: str, finish: bool = False
    ) -> defer.Deferred[tuple[int, int] | None]:
        """Append whole lines to the log; returns their (first_line, last_line).

        None if there is no such log.  With `finish`, the log is also marked
        complete, as `finishLog` does, in the same transaction.
        """
        method = self._method()
        try:
            check_content(content)
            compression.method_code(method)
        except ValueError as e:
            return defer.fail(e)
        logs = self.db.model.logs
        chunks_tbl = self.db.model.logchunks
        select = sa.select(logs.c.num_lines).where(logs.c.id == logid)

        def thdAppendLog(conn: sa.Connection) -> tuple[int, int] | None:
            row = conn.execute(select).first()
            if row is None:
                return None
            chunks = make_chunks(content, row.num_lines, method)
            conn.execute(chunks_tbl.insert(), [dict(c._asdict(), logid=logid) for c in chunks])
            last_line = chunks[-1].last_line
            values: dict[str, int] = {"num_lines": last_line + 1}
            if finish:
                values["complete"] = 1
            conn.execute(logs.update().where(logs.c.id == logid).values(**values))
            return row.num_lines, last_line

        return self.db.pool.do(thdAppendLog)

    def finishLog(self, logid: int) -> defer.Deferred[None]:
        tbl = self.db.model.logs
        q = tbl.update().where(tbl.c.id == logid).values(complete=1)

        def thdFinishLog(conn: sa.Connection) -> None:
            conn.execute(q)

        return self.db.pool.do(thdFinishLog)

    def compressLog(self, logid: int, force: bool = False) -> defer.Deferred[int]:
        """Merge the log's small chunks into bigger ones; returns the bytes saved.

        Done in one transaction, only if it makes fewer chunks unless `force`,
        which also recompresses every chunk with the configured method.
        """
        tbl = self.db.model.logchunks
        method = self._method()
        try:
            compression.method_code(method)
        except ValueError as e:
            return defer.fail(e)
        select = (
            sa.select(tbl.c.first_line, tbl.c.last_line, tbl.c.content, tbl.c.compressed)
            .where(tbl.c.logid == logid)
            .order_by(tbl.c.first_line)
        )
        delete = tbl.delete().where(tbl.c.logid == logid)

        def thdCompressLog(conn: sa.Connection) -> int:
            chunks = [
                Chunk(r.first_line, r.last_line, bytes(r.content or b""), r.compressed)
                for r in conn.execute(select)
            ]
            compacted = compact_chunks(chunks, method, force)
            if compacted is None:
                return 0
            conn.execute(delete)
            if compacted:
                conn.execute(tbl.insert(), [dict(c._asdict(), logid=logid) for c in compacted])
            return sum(len(c.content) for c in chunks) - sum(len(c.content) for c in compacted)

        return self.db.pool.do(thdCompressLog)

    async def _deleteOldLogChunks(self, older_than_timestamp: int) -> int:
        logs = self.db.model.logs
        steps = self.db.model.steps
        chunks = self.db.model.logchunks
        mark = (
            logs.update()
            .where(logs.c.type != "d")
            .where(
                logs.c.stepid.in_(
                    sa.select(steps.c.id).where(steps.c.started_at < older_than_timestamp)
                )
            )
            .values(type="d")
        )

        def thdMarkDeleted(conn: sa.Connection) -> None:
            conn.execute(mark)

        await self.db.pool.do(thdMarkDeleted)

        next_batch = (
            sa.select(chunks.c.logid, chunks.c.first_line)
            .where(chunks.c.logid.in_(sa.select(logs.c.id).where(logs.c.type == "d")))
            .order_by(chunks.c.logid, chunks.c.first_line)
            .limit(self.delete_batch_size)
        )

        def thdDeleteBatch(conn: sa.Connection) -> int:
            ranges: dict[int, list[int]] = {}
            for row in conn.execute(next_batch):
                ranges.setdefault(row.logid, []).append(row.first_line)
            deleted = 0
            for logid, first_lines in ranges.items():
                res = conn.execute(
                    chunks.delete()
                    .where(chunks.c.logid == logid)
                    .where(chunks.c.first_line.between(min(first_lines), max(first_lines)))
                )
                deleted += res.rowcount
            return deleted

        total = 0
        # one transaction per batch, so that no lock is held for long
        while True:
            deleted = await self.db.pool.do(thdDeleteBatch)
            if not deleted:
                return total
            total += deleted

    def deleteOldLogChunks(self, older_than_timestamp: int) -> defer.Deferred[int]:
        """Expire the logs of steps started before the time: mark them deleted
        (type 'd') and delete their chunks. Returns how many chunks went."""
        return defer.ensureDeferred(self._deleteOldLogChunks(older_than_timestamp))
