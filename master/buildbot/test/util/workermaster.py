"""A fake master with the real worker side (WorkerManager, optionally PBManager and
BotMaster) and the real data API on SQLite, for tests that attach workers to it."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial import unittest

from buildbot.config.master import MasterConfig
from buildbot.data.connector import DataConnector
from buildbot.pbmanager import PBManager
from buildbot.process.botmaster import BotMaster
from buildbot.process.remotecommand import RemoteCommand
from buildbot.test.fake import fakemq
from buildbot.test.fake.remotelog import InMemoryLog
from buildbot.test.fakedb import rows as fakedb
from buildbot.worker.manager import WorkerManager


async def start_worker_master(
    testcase: Any,
    *,
    protocols: dict[str, Any],
    workers: list[Any],
    builders: list[Any],
    pbmanager: bool = True,
    botmaster: bool = False,
) -> MasterConfig:
    """Gives `testcase.master` (of a db.SQLiteDBMixin test) its services, starts it (stopped
    at clean-up) and configures its workers; returns the config."""
    master = testcase.master
    await testcase.insert_test_data([fakedb.Master(id=master.masterid, name=master.name)])
    master.mq = fakemq.FakeMQConnector(testcase)
    await master.mq.setServiceParent(master)
    master.data = DataConnector()
    await master.data.setServiceParent(master)
    if pbmanager:
        master.pbmanager = PBManager()
        await master.pbmanager.setServiceParent(master)
    if botmaster:
        master.botmaster = BotMaster()
        await master.botmaster.setServiceParent(master)
    master.workers = WorkerManager()
    await master.workers.setServiceParent(master)
    cfg = MasterConfig()
    cfg.protocols = protocols
    cfg.workers = workers
    cfg.builders = builders
    master.config = cfg
    await master.startService()
    testcase.addCleanup(master.stopService)
    if botmaster:
        await master.botmaster.reconfigServiceWithBuildbotConfig(cfg)
    await master.workers.reconfigServiceWithBuildbotConfig(cfg)
    return cfg


async def run_command(
    testcase: unittest.TestCase, conn: Any, builder: str, cmd: RemoteCommand, limit: float
) -> RemoteCommand:
    """Runs `cmd` on the worker connection `conn` for `builder`, its stdio log kept as
    `cmd.stdio`; times out after `limit` seconds."""
    stdio = InMemoryLog("stdio")
    cmd.useLog(stdio, closeWhenFinished=True)
    d = cmd.run(None, conn, builder)
    d.addTimeout(limit, reactor)
    await d
    testcase.assertTrue(stdio.finished)
    cmd.stdio = stdio  # type: ignore[attr-defined]
    return cmd
