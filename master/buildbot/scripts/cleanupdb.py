"""`buildbot cleanupdb`: recompact every log into fewer, compressed chunks, then let
the database give the freed space back (VACUUM on SQLite).

Run it with the master stopped: it works on the database the master.cfg names.
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.internet import defer, task

from buildbot.db import connector
from buildbot.scripts import base
from buildbot.util import service


class CleanupDBOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot cleanupdb [options] [<basedir>]"
    optFlags = [
        ["quiet", "q", "Do not print progress"],
        [
            "force",
            "f",
            "Recompress every log, also those already compact (after changing "
            "logCompressionMethod)",
        ],
    ]


async def cleanup(reactor: Any, config: dict[str, Any], out: Any, err: Any = None) -> int:
    err = err or sys.stderr
    basedir = config["basedir"]
    try:
        master_config = base.load_master_config(basedir)
    except base.MasterConfigError as e:
        print(e, file=err)
        return 1
    master = service.MasterService(reactor=reactor)
    master.config = master_config
    master.basedir = basedir
    db = connector.DBConnector(basedir)
    await db.setServiceParent(master)
    try:
        await db.setup()
    except Exception as e:
        print(f"error: {e}", file=err)
        if db.pool is not None:
            await db.pool.shutdown()
        return 1
    try:
        logs = await db.logs.getLogs()
        saved = 0
        for i, log in enumerate(logs, 1):
            saved += await db.logs.compressLog(log.id, force=config["force"])
            if not config["quiet"] and (i % 100 == 0 or i == len(logs)):
                print(f"compacted {i}/{len(logs)} logs", file=out)
        if db.engine.dialect.name == "sqlite":
            if not config["quiet"]:
                print("vacuuming the database", file=out)
            await db.pool.do_with_engine(_thd_vacuum)
        if not config["quiet"]:
            print(f"cleanup done: {saved} bytes of log chunks saved", file=out)
    finally:
        await db.pool.shutdown()
    return 0


def _thd_vacuum(engine: Any) -> None:
    # VACUUM cannot run inside a transaction, and SQLAlchemy's connections open one:
    # use the driver's connection, which the engine left in autocommit mode
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM")
    finally:
        raw.close()


def cleanupDatabase(config: dict[str, Any], out: Any = None) -> int:
    out = out or sys.stdout
    if not base.is_buildmaster_dir(config["basedir"]):
        return 1
    result: list[int] = []

    async def main(reactor: Any) -> None:
        result.append(await cleanup(reactor, config, out))

    try:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
    except SystemExit as e:
        if e.code:
            return int(e.code)
    return result[0] if result else 1
