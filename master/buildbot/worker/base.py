"""Workers as master.cfg declares them, and the master's side of their connection.

A worker registers itself in the database and keeps its settings; once its
program logs in (see `buildbot.worker.protocols`), `attached(conn)` records the
connection and the worker's info, sends the builder list, and `detached()`
undoes it. Pause, unpause, graceful stop and kill arrive as control messages.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from twisted.internet import defer, error
from twisted.python import log
from twisted.spread import pb
from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.util import service

#: what a call to a worker raises when its connection is gone
_CONNECTION_GONE = (
    error.ConnectionLost,
    error.ConnectionDone,
    pb.PBConnectionLost,
    pb.DeadReferenceError,
)

#: the worker-reported info keys kept in the workers table
DB_INFO_KEYS = ("admin", "host", "access_uri", "version")


@implementer(interfaces.IWorker)
class AbstractWorker(service.BuildbotService):
    """A worker of master.cfg: ``Worker(name, password, **settings)``."""

    # started on demand by the master (AbstractLatentWorker)
    is_latent = False

    def __init__(self, name: str, password: Any, *args: Any, **kwargs: Any) -> None:
        # the name is positional in master.cfg files; BuildbotService takes it by keyword
        self.workername = name
        self.conn: Any = None
        self.info: dict[str, Any] = {}
        self.worker_system: str | None = None
        self.last_received: float | None = None
        self.paused = False
        self.pause_reason: str | None = None
        self.graceful = False
        # builds running on this worker (kept by the build engine)
        self.building: set[Any] = set()
        self._builder_list: list[tuple[str, str]] | None = None
        self._missing_timer: Any = None
        self._control_consumer: Any = None
        self._state_loaded = False
        self._detaching: defer.Deferred[None] | None = None
        super().__init__(password, *args, name=name, **kwargs)

    def checkConfig(
        self,
        password: Any,
        max_builds: int | None = None,
        notify_on_missing: str | list[str] | None = None,
        missing_timeout: float | None = 3600,
        properties: dict[str, Any] | None = None,
        defaultProperties: dict[str, Any] | None = None,
        locks: list[Any] | None = None,
        keepalive_interval: float | None = 3600,
        machine_name: str | None = None,
    ) -> None:
        where = f"worker {self.name!r}"
        if max_builds is not None and (
            not isinstance(max_builds, int) or isinstance(max_builds, bool) or max_builds < 1
        ):
            config.error(f"{where}: max_builds must be a positive integer or None")
        if notify_on_missing is not None and not isinstance(notify_on_missing, str | list):
            config.error(f"{where}: notify_on_missing must be a string or a list of strings")
        elif isinstance(notify_on_missing, list) and not all(
            isinstance(a, str) for a in notify_on_missing
        ):
            config.error(f"{where}: notify_on_missing must be a string or a list of strings")
        for key, value in (("missing_timeout", missing_timeout),):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                config.error(f"{where}: {key} must be a non-negative number")
        for key, value in (("properties", properties), ("defaultProperties", defaultProperties)):
            if value is not None and not isinstance(value, dict):
                config.error(f"{where}: {key} must be a dictionary")
        if locks is not None and not isinstance(locks, list | tuple):
            config.error(f"{where}: locks must be a list of lock accesses")
        elif locks:
            for lock in locks:
                if not interfaces.ILockAccess.providedBy(lock) and not hasattr(lock, "access"):
                    config.error(f"{where}: {lock!r} in locks is not a lock or lock access")
        if machine_name is not None and not isinstance(machine_name, str):
            config.error(f"{where}: machine_name must be a string")
        self.machine_name = machine_name

    async def reconfigService(self, password: Any, **settings: Any) -> None:
        # the arguments passed checkConfig: defaults are those of its signature (ours:
        # a subclass takes its own settings out before calling us)
        given = inspect.signature(AbstractWorker.checkConfig).bind(self, password, **settings)
        given.apply_defaults()
        args = given.arguments
        notify_on_missing = args["notify_on_missing"]
        workerid = getattr(self, "workerid", None)
        if workerid is None:
            workerid = await self.master.data.updates.findWorkerId(self.name)
        # assigned together, after the only wait
        self.workerid = workerid
        self.password = password
        self.max_builds = args["max_builds"]
        if isinstance(notify_on_missing, str):
            notify_on_missing = [notify_on_missing]
        self.notify_on_missing = list(notify_on_missing or [])
        self.missing_timeout = args["missing_timeout"]
        self.properties = dict(args["properties"] or {})
        self.defaultProperties = dict(args["defaultProperties"] or {})
        self.access = list(args["locks"] or [])
        self.keepalive_interval = args["keepalive_interval"]
        self.machine_name = args["machine_name"]
        await self._load_state()
        if self._control_consumer is None and self.master.mq is not None:
            self._control_consumer = await self.master.mq.startConsuming(
                self._control, ("control", "worker", str(self.workerid), None)
            )

    async def _load_state(self) -> None:
        if self._state_loaded:
            return
        row = await self.master.data.get(("workers", self.workerid))
        if row is not None:
            self.paused = bool(row["paused"])
            self.pause_reason = row["pause_reason"]
            self.graceful = bool(row["graceful"])
        self._state_loaded = True

    async def stopService(self) -> None:  # type: ignore[override]
        if self._control_consumer is not None:
            self._control_consumer.stopConsuming()
            self._control_consumer = None
        await self.disconnect()
        if self._detaching is not None:
            # its DB write must land before the DB goes away
            await self._detaching
        self._stop_missing_timer()
        await super().stopService()

    # --- the connection -----------------------------------------------------------

    def isConnected(self) -> bool:
        return self.conn is not None

    def canStartBuild(self) -> bool:
        return self.conn is not None and not self.paused and not self.graceful

    def messageReceivedFromWorker(self) -> None:
        self.last_received = self.master.reactor.seconds()

    async def attached(self, conn: Any) -> None:
        """The worker program logged in on `conn`: greet it, record its info, send it
        the builders it serves. A failure before the info is stored refuses the login."""
        if self.conn is not None:
            raise RuntimeError(f"worker {self.name!r} is already attached")
        self.messageReceivedFromWorker()
        await conn.remotePrint("attached")
        info = await conn.remoteGetWorkerInfo()
        if conn.disconnected:
            raise RuntimeError(f"worker {self.name!r} went away while attaching")
        self.conn = conn
        self.info = {k: v for k, v in info.items() if k not in ("environ", "worker_commands")}
        self.worker_system = info.get("system")
        self._builder_list = None
        self._stop_missing_timer()
        conn.notifyOnDisconnect(lambda: self.detached(conn))
        log.msg(f"worker {self.name!r} attached from {_peer(conn)}")
        updates = self.master.data.updates
        await updates.workerConnected(
            self.workerid, self.master.masterid, {k: info.get(k) for k in DB_INFO_KEYS}
        )
        await updates.setWorkerState(self.workerid, self.paused, self.graceful)
        try:
            await self.updateWorker()
        except _CONNECTION_GONE as e:
            # gone again (or the master is stopping): the disconnect detaches it
            log.msg(f"worker {self.name!r} went away while attaching: {e}")
        except Exception:
            # the login stands: the next reconfig sends the list again
            log.err(None, f"while sending the builder list to worker {self.name!r}")

    def detached(self, conn: Any = None) -> defer.Deferred[None]:
        if conn is not None and conn is not self.conn:
            return defer.succeed(None)
        d = defer.ensureDeferred(self._detached())
        self._detaching = d

        def done(result: Any) -> Any:
            if self._detaching is d:
                self._detaching = None
            return result

        return d.addBoth(done)

    async def _detached(self) -> None:
        if self.conn is None:
            return
        self.conn = None
        self._builder_list = None
        log.msg(f"worker {self.name!r} detached")
        self._start_missing_timer()
        await self.master.data.updates.workerDisconnected(self.workerid, self.master.masterid)

    def builderList(self) -> list[tuple[str, str]]:
        """(builder name, builder dir on the worker) of the builders this worker serves."""
        cfg = getattr(self.master, "config", None)
        return [
            (b.name, b.workerbuilddir)
            for b in getattr(cfg, "builders", None) or []
            if self.name in b.workernames
        ]

    async def updateWorker(self) -> None:
        """Send the builder list, if it changed since the last one sent."""
        conn = self.conn
        if conn is None:
            return
        wanted = self.builderList()
        if wanted == self._builder_list:
            return
        refs = await conn.remoteSetBuilderList(wanted)
        if conn is not self.conn:
            return
        self._builder_list = wanted
        for _ in refs or {}:
            await conn.remotePrint("attached")
        self._maybe_start_builds()

    def _maybe_start_builds(self) -> None:
        """Tell the build engine this worker may take builds now."""
        botmaster = getattr(self.master, "botmaster", None)
        if botmaster is not None and hasattr(botmaster, "maybeStartBuildsForWorker"):
            botmaster.maybeStartBuildsForWorker(self.name)

    # --- missing --------------------------------------------------------------------

    def _start_missing_timer(self) -> None:
        self._stop_missing_timer()
        if self.missing_timeout and self.running:
            self._missing_timer = self.master.reactor.callLater(
                self.missing_timeout, self._missing_fired
            )

    def _stop_missing_timer(self) -> None:
        if self._missing_timer is not None and self._missing_timer.active():
            self._missing_timer.cancel()
        self._missing_timer = None

    def _missing_fired(self) -> defer.Deferred[None]:
        self._missing_timer = None
        last = self.last_received
        when = time.ctime(last) if last is not None else "never"
        d = self.master.data.updates.workerMissing(
            workerid=self.workerid,
            masterid=self.master.masterid,
            last_connection=when,
            notify=self.notify_on_missing,
        )
        return d.addErrback(log.err, f"while reporting worker {self.name!r} missing")

    # --- control ----------------------------------------------------------------------

    def _control(self, routingKey: tuple[str, ...], data: Any) -> defer.Deferred[None]:
        action = routingKey[-1]
        reason = (data or {}).get("reason")
        handlers = {
            "pause": lambda: self.pause(reason),
            "unpause": self.unpause,
            "stop": lambda: self.setGraceful(True),
            "kill": self.shutdown,
        }
        handler = handlers.get(action)
        if handler is None:
            log.msg(f"worker {self.name!r}: unknown control action {action!r}")
            return defer.succeed(None)
        return defer.ensureDeferred(handler()).addErrback(
            log.err, f"worker {self.name!r}: control {action!r}"
        )

    async def pause(self, reason: str | None = None) -> None:
        self.paused, self.pause_reason = True, reason
        await self.master.data.updates.set_worker_paused(self.workerid, True, reason)

    async def unpause(self) -> None:
        self.paused, self.pause_reason = False, None
        await self.master.data.updates.set_worker_paused(self.workerid, False, None)
        self._maybe_start_builds()

    async def setGraceful(self, graceful: bool) -> None:
        self.graceful = graceful
        await self.master.data.updates.set_worker_graceful(self.workerid, graceful)
        if graceful:
            await self.maybeShutdown()

    def shutdownRequested(self) -> defer.Deferred[None]:
        """The worker asked (perspective `shutdown`) to stop once idle."""
        return defer.ensureDeferred(self.setGraceful(True)).addErrback(
            log.err, f"worker {self.name!r}: graceful shutdown"
        )

    async def maybeShutdown(self) -> None:
        if self.graceful and not self.building:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Ask the worker program to stop now."""
        conn = self.conn
        if conn is None:
            return
        log.msg(f"asking worker {self.name!r} to shut down")
        await conn.remoteShutdown()

    async def disconnect(self) -> None:
        """Drop the connection; fires once the worker is detached."""
        conn = self.conn
        if conn is None:
            return
        gone = conn.waitForDisconnect()
        conn.loseConnection()
        await gone


def _peer(conn: Any) -> str:
    try:
        return str(conn.mind.broker.transport.getPeer())
    except AttributeError:
        return "?"


class Worker(AbstractWorker):
    """A worker that connects to the master over the network (PB)."""
