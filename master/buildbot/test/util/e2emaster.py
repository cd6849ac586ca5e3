"""A real BuildMaster in the test process, from a master.cfg the test writes, on SQLite,
with a real worker program as a child process. End-to-end tests subclass
`RealMasterMixin` (with a `unittest.TestCase`), say which worker program runs
(`worker_bin`) and give the master.cfg text (`master_cfg`); builds are then watched
through `self.master.data`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer
from twisted.python import log

from buildbot import master as master_module
from buildbot.db import migrate
from buildbot.master import BuildMaster
from buildbot.test.util import processes
from buildbot.test.util.processes import ChildProcess, ReactorProxy, free_port

WORKER, PASSWORD = "w1", "w1-secret"


def our_worker_bin() -> str:
    """Our own buildbot-worker, installed beside this Python."""
    return os.path.join(os.path.dirname(sys.executable), "buildbot-worker")


class RealMasterMixin:
    timeout = 180

    def worker_bin(self) -> str:
        raise NotImplementedError

    def master_cfg(self) -> str:
        """The master.cfg text; `self.basedir` and `self.port` are set when it is asked."""
        raise NotImplementedError

    async def setUp(self) -> None:
        self.program = self.worker_bin()
        self.basedir = os.path.abspath(self.mktemp())  # type: ignore[attr-defined]
        os.makedirs(self.basedir)
        self.port = free_port()
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(self.master_cfg())
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()
        self.messages: list[str] = []
        log.addObserver(self._observe)
        self.addCleanup(log.removeObserver, self._observe)  # type: ignore[attr-defined]
        self.master = await self.start_master()
        self.worker_dir = os.path.join(self.basedir, "worker")
        await self.create_worker()
        await self.start_worker()
        await self.wait_for("the worker to connect", self._worker_connected)

    def _observe(self, event: dict[str, Any]) -> None:
        text = log.textFromEventDict(event)
        if text:
            self.messages.append(text)

    async def start_master(self) -> BuildMaster:
        self.messages = []
        m = BuildMaster(self.basedir, reactor=ReactorProxy())
        m._exit_nonzero = lambda: None  # type: ignore[method-assign]
        await m.startService()

        async def stop() -> None:
            if m.running:
                await m.stopService()

        self.addCleanup(lambda: defer.ensureDeferred(stop()))  # type: ignore[attr-defined]
        if master_module.RUNNING not in self.messages:
            self.fail("the master did not start:\n" + "\n".join(self.messages[-40:]))  # type: ignore[attr-defined]
        return m

    async def restart_master(self) -> None:
        await self.master.stopService()
        self.master = await self.start_master()
        await self.wait_for("the worker to reconnect", self._worker_connected)

    def child_env(self) -> dict[str, str]:
        return processes.child_env(os.path.dirname(sys.executable))

    async def create_worker(self) -> None:
        argv = [self.program, "create-worker", "-q", self.worker_dir,
                f"127.0.0.1:{self.port}", WORKER, PASSWORD]  # fmt: skip
        await processes.run_program(self, argv, self.child_env(), self.basedir)  # type: ignore[arg-type]

    async def start_worker(self) -> None:
        self.child, self.transport = processes.start_worker(
            self.program, self.worker_dir, self.child_env()
        )
        self.addCleanup(self.kill_worker, self.child, self.transport)  # type: ignore[attr-defined]

    async def kill_worker(self, child: ChildProcess | None = None, transport: Any = None) -> None:
        await processes.kill_worker(child or self.child, transport or self.transport)

    async def _worker_connected(self) -> bool:
        w = self.master.workers.workers.get(WORKER)
        return bool(w is not None and w.conn is not None)

    async def wait_for(self, what: str, check: Any, limit: float = 60) -> Any:
        return await processes.wait_for(self, what, check, limit, details=self._failure_details)  # type: ignore[arg-type]

    def _failure_details(self) -> str:
        return f"worker: {bytes(self.child.output[-2000:])!r}\nmaster:\n" + "\n".join(
            self.messages[-40:]
        )

    # ---- reading builds ----------------------------------------------------------

    async def builds_of(self, brid: int) -> list[dict[str, Any]]:
        return list(await self.master.data.get(("buildrequests", brid, "builds")))

    async def finished_request(self, brid: int, limit: float = 60) -> dict[str, Any]:
        async def done() -> Any:
            br = await self.master.data.get(("buildrequests", brid))
            return br if br["complete"] else None

        return await self.wait_for(f"build request {brid} to complete", done, limit)

    async def steps(self, build: dict[str, Any]) -> dict[str, dict[str, Any]]:
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        return {s["name"]: s for s in steps}

    async def props(self, build: dict[str, Any]) -> dict[str, Any]:
        props = await self.master.data.get(("builds", build["buildid"], "properties"))
        return {k: v for k, (v, _) in props.items()}

    async def log_text(self, step: dict[str, Any], name: str = "stdio") -> str:
        logs = await self.master.data.get(("steps", step["stepid"], "logs"))
        (lg,) = [lg for lg in logs if lg["name"] == name] or [None]
        self.assertIsNotNone(lg, f"no log {name!r} in step {step['name']!r}: {logs}")  # type: ignore[attr-defined]
        got = await self.master.data.get(("logs", lg["logid"], "contents"))
        return got["content"]
