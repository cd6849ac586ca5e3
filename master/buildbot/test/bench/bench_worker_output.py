"""Benchmark: one shell command printing many lines, received by the master over PB.

Not a test: run it by hand, from the repository root:

    .venv/bin/python -m buildbot.test.bench.bench_worker_output [--lines 200000]
        [--worker PATH-TO-buildbot-worker ...]

For each worker program it starts a master in this process (the real PB manager,
worker manager, MQ and data API on SQLite), starts the worker as a child process,
runs one RemoteShellCommand that prints the lines, and reports lines per second
(command start to completion), the master's CPU seconds for the command (this
process only: the worker is another process), and how many update messages the
worker sent.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer, error, protocol, task

from buildbot.config.builder import BuilderConfig
from buildbot.config.master import MasterConfig
from buildbot.data.connector import DataConnector
from buildbot.db import connector, migrate
from buildbot.mq.connector import MQConnector
from buildbot.pbmanager import PBManager
from buildbot.process.factory import BuildFactory
from buildbot.process.remotecommand import RemoteShellCommand
from buildbot.test.fake.fakemaster import FakeMaster
from buildbot.test.fake.remotelog import InMemoryLog
from buildbot.worker import Worker
from buildbot.worker.manager import WorkerManager

PRINTER = (
    "import sys\n"
    "w = sys.stdout.write\n"
    "for i in range({n}):\n"
    "    w('line %07d: the quick brown fox jumps over the lazy dog, again and again\\n' % i)\n"
)


class _Child(protocol.ProcessProtocol):
    def __init__(self) -> None:
        self.ended: defer.Deferred[Any] = defer.Deferred()
        self.output = bytearray()

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(reason.value)


async def wait_for(reactor: Any, check: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        await task.deferLater(reactor, 0.05, lambda: None)


async def run_one(reactor: Any, program: str, lines: int, workdir: str) -> dict[str, Any]:
    basedir = os.path.join(workdir, "master")
    os.makedirs(basedir)
    url = f"sqlite:///{basedir}/state.sqlite"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate.thd_create_tables(conn)
    engine.dispose()

    master = FakeMaster(reactor, basedir=basedir, masterid=1)
    cfg = MasterConfig()
    cfg.protocols = {"pb": {"port": "tcp:0:interface=127.0.0.1"}}
    cfg.workers = [Worker("w1", "pw")]
    cfg.builders = [BuilderConfig(name="b1", workernames=["w1"], factory=BuildFactory())]
    master.config = cfg
    master.db = connector.DBConnector(basedir)
    await master.db.setServiceParent(master)
    await master.db.setup(db_url=url)
    await master.db.pool.do(
        lambda conn: conn.execute(master.db.model.masters.insert().values(
            id=1, name="bench", name_hash="x" * 40, active=1, last_active=0
        ))
    )  # fmt: skip
    for attr, svc in (
        ("mq", MQConnector()),
        ("data", DataConnector()),
        ("pbmanager", PBManager()),
        ("workers", WorkerManager()),
    ):
        setattr(master, attr, svc)
        await svc.setServiceParent(master)
    await master.mq.setup()
    await master.startService()
    await master.workers.reconfigServiceWithBuildbotConfig(cfg)
    port = master.workers.pb.getRegistration("w1").getPort()
    worker = master.workers.getWorkerByName("w1")

    wbase = os.path.join(workdir, "worker")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": workdir}
    create = _Child()
    argv = [program, "create-worker", "-q", wbase, f"127.0.0.1:{port}", "w1", "pw"]
    reactor.spawnProcess(create, program, argv, env=env, path=workdir)
    await create.ended
    child = _Child()
    argv = [program, "start", "--nodaemon", wbase]
    transport = reactor.spawnProcess(child, program, argv, env=env, path=wbase)
    try:
        await wait_for(reactor, lambda: worker.conn is not None, 60, "the worker")
        await wait_for(reactor, lambda: "b1" in worker.conn.builders, 30, "the builder list")

        cmd = RemoteShellCommand(
            "build", [sys.executable, "-c", PRINTER.format(n=lines)], logEnviron=False
        )
        stdio = InMemoryLog("stdio")
        cmd.useLog(stdio, closeWhenFinished=True)
        updates = 0
        original = cmd.remote_update

        def counting_update(*args: Any, **kwargs: Any) -> Any:
            nonlocal updates
            updates += 1
            return original(*args, **kwargs)

        cmd.remote_update = counting_update  # type: ignore[method-assign]
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        await cmd.run(None, worker.conn, "b1")
        elapsed = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        received = stdio.stdout.count("\n")
        if cmd.rc != 0 or received != lines:
            raise RuntimeError(f"command rc={cmd.rc}, {received} lines of {lines} received")
        return {
            "lines": lines,
            "seconds": elapsed,
            "lines_per_s": lines / elapsed,
            "master_cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
            "update_messages": updates,
        }
    finally:
        try:
            transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            pass
        await child.ended
        await master.stopService()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument(
        "--worker",
        action="append",
        help="a buildbot-worker program (default: ours, and 4.3's if BUILDBOT43_VENV is set)",
    )
    args = parser.parse_args()
    programs = args.worker or [os.path.join(os.path.dirname(sys.executable), "buildbot-worker")]
    if not args.worker and os.environ.get("BUILDBOT43_VENV"):
        programs.append(os.path.join(os.environ["BUILDBOT43_VENV"], "bin", "buildbot-worker"))
    results = []

    async def run(reactor: Any) -> None:
        for program in programs:
            workdir = tempfile.mkdtemp(prefix="bench-worker-")
            try:
                results.append((program, await run_one(reactor, program, args.lines, workdir)))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        print(f"{args.lines} lines from one shell command, received by the master over PB")
        print(f"{'worker':<58} {'lines/s':>10} {'master CPU s':>13} {'updates':>8}")
        for program, r in results:
            print(
                f"{program:<58} {r['lines_per_s']:>10,.0f} {r['master_cpu_s']:>13.2f} "
                f"{r['update_messages']:>8}"
            )

    task.react(lambda reactor: defer.ensureDeferred(run(reactor)))


if __name__ == "__main__":  # pragma: no cover
    main()
