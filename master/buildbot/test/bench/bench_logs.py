"""Benchmark of log storage through the real logs component on SQLite.

Not a test: run it by hand, from master/:

    python -m buildbot.test.bench.bench_logs [--lines 200000] [--batch 1000]

For each compression method it appends the lines in batches (as a worker's
output arrives), reads them back in ranges, and prints the rates and the
database size against the size of the raw text.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
import types

import sqlalchemy as sa
from twisted.internet import defer, task

from buildbot.db import compression, connector, migrate
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster

ROWS = [
    fakedb.Master(id=1),
    fakedb.Builder(id=1, name="b"),
    fakedb.Buildset(id=1),
    fakedb.BuildRequest(id=1, buildsetid=1, builderid=1),
    fakedb.Build(id=1, buildrequestid=1, number=1, masterid=1, builderid=1),
    fakedb.Step(id=1, buildid=1, number=0, name="compile"),
]


def make_lines(count: int) -> list[str]:
    """About 100-byte lines looking like a compiler's output, with channel characters."""
    rnd = random.Random(42)
    words = ["warning", "unused", "variable", "implicit", "conversion", "note", "declared"]
    lines = []
    for i in range(count):
        if rnd.random() < 0.8:
            line = (
                f"ogcc -O2 -Wall -fPIC -Iinclude -c src/mod{rnd.randrange(40)}/"
                f"file_{i % 997}.c -o build/obj/file_{i % 997}.o"
            )
        else:
            line = (
                f"esrc/mod{rnd.randrange(40)}/file_{i % 997}.c:{rnd.randrange(3000)}:"
                f"{rnd.randrange(80)}: {' '.join(rnd.choice(words) for _ in range(5))}"
            )
        lines.append(line.ljust(99, " ")[:99] + "\n")
    return lines


async def run_method(reactor, method: str, lines: list[str], batch: int, read_range: int):
    tmpdir = tempfile.mkdtemp(prefix="bench_logs_")
    try:
        path = os.path.join(tmpdir, "state.sqlite")
        url = f"sqlite:///{path}"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()

        master = fakemaster.FakeMaster(reactor, basedir=tmpdir)
        master.config = types.SimpleNamespace(logCompressionMethod=method)
        db = connector.DBConnector(tmpdir)
        await db.setServiceParent(master)
        await db.setup(db_url=url)
        master.db = db
        try:
            await db.pool.do(
                lambda conn: [
                    conn.execute(db.model.metadata.tables[r.table].insert().values(**r.values))
                    for r in ROWS
                ]
            )
            logid = await db.logs.addLog(1, "stdio", "stdio", "s")

            started = time.perf_counter()
            for i in range(0, len(lines), batch):
                await db.logs.appendLog(logid, "".join(lines[i : i + batch]))
            write_s = time.perf_counter() - started

            started = time.perf_counter()
            got = []
            for first in range(0, len(lines), read_range):
                got.append(await db.logs.getLogLines(logid, first, first + read_range - 1))
            read_s = time.perf_counter() - started
            if "".join(got) != "".join(lines):
                raise AssertionError(f"{method}: lines read back differ")

            def thd_sizes(conn):
                tbl = db.model.logchunks
                return conn.execute(
                    sa.select(sa.func.count(), sa.func.sum(sa.func.length(tbl.c.content)))
                ).one()

            chunks, content_bytes = await db.pool.do(thd_sizes)
        finally:
            await db.pool.shutdown()
        return write_s, read_s, chunks, content_bytes, os.path.getsize(path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


async def main(reactor, argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000, help="lines per appendLog")
    parser.add_argument("--read-range", type=int, default=1000, help="lines per getLogLines")
    parser.add_argument("--methods", default=",".join(compression.available_methods()))
    args = parser.parse_args(argv)

    lines = make_lines(args.lines)
    raw_size = sum(len(line.encode("utf-8")) for line in lines)
    print(
        f"{args.lines} lines, {raw_size / 1e6:.1f} MB of text; appendLog of {args.batch} "
        f"lines, getLogLines of {args.read_range} lines; SQLite"
    )
    header = (
        f"{'method':<6} {'write lines/s':>14} {'read lines/s':>13} {'chunks':>7} "
        f"{'content MB':>11} {'DB file MB':>11} {'DB/raw':>7}"
    )
    print(header)
    print("-" * len(header))
    for method in args.methods.split(","):
        write_s, read_s, chunks, content, db_size = await run_method(
            reactor, method, lines, args.batch, args.read_range
        )
        print(
            f"{method:<6} {args.lines / write_s:>14,.0f} {args.lines / read_s:>13,.0f} "
            f"{chunks:>7} {content / 1e6:>11.2f} {db_size / 1e6:>11.2f} "
            f"{db_size / raw_size:>7.1%}"
        )


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
