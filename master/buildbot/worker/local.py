"""`LocalWorker`: a worker program running inside the master process.

No network and no password: when the service starts, it creates the worker's
directory (`<master basedir>/workers/<workdir or name>`), builds the worker
program's `Bot` there and logs it in through the in-process `null` connection;
when it stops, the connection is dropped and the worker detached.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from twisted.python import log

from buildbot import config
from buildbot.worker.base import AbstractWorker
from buildbot.worker.protocols import null


class _LocalBot:
    """Builds the worker program's `Bot`; imported late, as the worker is a separate
    distribution (installed beside the master, but a master.cfg without a
    LocalWorker must not need it)."""

    @staticmethod
    def make(basedir: str, reactor: Any, stop: Any) -> Any:
        from buildbot_worker import bot

        class LocalBot(bot.Bot):
            def remote_getWorkerInfo(self) -> dict[str, Any]:
                info = super().remote_getWorkerInfo()
                # what `buildbot-worker create-worker` would have put in info/
                info.setdefault("host", socket.gethostname())
                info.setdefault("admin", "LocalWorker in the master process")
                return info

        return LocalBot(basedir, reactor, stop)


class LocalWorker(AbstractWorker):
    """``LocalWorker(name, workdir=None, **kwargs)``: a worker in the master process."""

    # no PB registration: it attaches itself
    uses_pb = False

    def __init__(self, name: str, workdir: str | None = None, **kwargs: Any) -> None:
        self.workdir: str | None = workdir
        self.bot: Any = None
        super().__init__(name, None, workdir=workdir, **kwargs)

    def checkConfig(self, password: Any, workdir: str | None = None, **kwargs: Any) -> None:
        super().checkConfig(password, **kwargs)
        if workdir is not None and not isinstance(workdir, str):
            config.error(f"worker {self.name!r}: workdir must be a string")

    async def reconfigService(  # type: ignore[override]
        self, password: Any, workdir: str | None = None, **kwargs: Any
    ) -> None:
        self.workdir = workdir
        await super().reconfigService(password, **kwargs)

    @property
    def basedir(self) -> str:
        return os.path.join(self.master.basedir, "workers", self.workdir or self.name)

    async def startService(self) -> None:  # type: ignore[override]
        await super().startService()
        basedir = self.basedir
        os.makedirs(basedir, exist_ok=True)
        self.bot = _LocalBot.make(basedir, self.master.reactor, self._worker_stops)
        conn = null.Connection(self.name, self.bot)
        try:
            await self.master.workers.newConnection(conn, self.name)
        except Exception:
            log.err(None, f"while attaching the local worker {self.name!r}")
            conn.loseConnection()

    def _worker_stops(self) -> None:
        # the worker program was asked to stop (remoteShutdown): it goes away
        if self.conn is not None:
            self.conn.loseConnection()
