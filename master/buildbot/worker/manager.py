"""``master.workers``: the configured workers, which builders each serves, and the
connections of the worker programs (login registrations, duplicates, attach)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.util import service
from buildbot.worker.protocols import msgpack as msgpack_protocol
from buildbot.worker.protocols import pb as pb_protocol

#: seconds the old connection of a worker has to answer when a second one logs in
DUPLICATE_PROBE_TIMEOUT = 10


class DuplicateWorkerRejected(Exception):
    """A worker logged in under a name whose live connection still answers."""


class WorkerManager(service.BuildbotServiceManager):
    name = "workers"  # type: ignore[assignment]
    config_attr = "workers"
    # after the botmaster (128), so that the builders are registered
    reconfig_priority = 127

    def __init__(self) -> None:
        super().__init__()
        self.pb = pb_protocol.Listener()
        self.pb.setServiceParent(self)
        self.msgpack = msgpack_protocol.Listener()
        self.msgpack.setServiceParent(self)
        # workername -> its live connection
        self.connections: dict[str, Any] = {}

    def getWorkerByName(self, workername: str) -> Any:
        return self.namedServices.get(workername)

    @property
    def workers(self) -> dict[str, Any]:
        return dict(self.namedServices)

    async def _configure_in_db(self, new_config: Any) -> None:
        master = self.master
        updates = master.data.updates
        builderids: dict[str, list[int]] = {}
        for builder in new_config.builders:
            builderid = await updates.findBuilderId(builder.name)
            for workername in builder.workernames:
                builderids.setdefault(workername, []).append(builderid)
        # what this master's workers serve is recorded afresh: gone workers drop out
        await updates.deconfigureAllWorkersForMaster(master.masterid)
        for worker in self.workers.values():
            await updates.workerConfigured(
                worker.workerid, master.masterid, builderids.get(worker.name, [])
            )

    def reconfigServiceWithBuildbotConfig(self, new_config: Any) -> defer.Deferred[None]:
        return defer.ensureDeferred(self._reconfig(new_config))

    async def _reconfig(self, new_config: Any) -> None:
        await super().reconfigServiceWithBuildbotConfig(new_config)
        await self._configure_in_db(new_config)
        await self._update_registrations(new_config)
        for worker in self.workers.values():
            if worker.conn is not None:
                await worker.updateWorker()

    async def _update_registrations(self, new_config: Any) -> None:
        protocols = getattr(new_config, "protocols", None) or {}
        listeners = [(self.msgpack, msgpack_protocol.PROTOCOL_NAME)]
        if getattr(self.master, "pbmanager", None) is not None:
            listeners.insert(0, (self.pb, "pb"))
        workers = self.workers
        for listener, key in listeners:
            port = (protocols.get(key) or {}).get("port")
            for name in listener.registeredNames():
                if name not in workers:
                    await listener.updateRegistration(name, None, None)
            for name, worker in workers.items():
                # a worker that does not log in over the network (LocalWorker) has no port
                wants_port = getattr(worker, "uses_pb", True)
                await listener.updateRegistration(
                    name, worker.password, port if wants_port else None
                )

    # connections

    def newConnection(self, conn: Any, workerName: str) -> defer.Deferred[bool]:
        """A worker logged in: settle a duplicate, then attach it. Fires True once
        attached; fails (refusing the login) for a live duplicate."""
        return defer.ensureDeferred(self._new_connection(conn, workerName))

    async def _new_connection(self, conn: Any, workerName: str) -> bool:
        old = self.connections.get(workerName)
        if old is not None:
            await self._settle_duplicate(old, workerName)
        worker = self.getWorkerByName(workerName)
        if worker is None:
            raise RuntimeError(f"no worker named {workerName!r} is configured")
        if self.connections.get(workerName) is not None:
            # another login won the race while we probed
            raise DuplicateWorkerRejected(f"rejecting duplicate worker {workerName!r}")
        self.connections[workerName] = conn

        def forget() -> None:
            if self.connections.get(workerName) is conn:
                del self.connections[workerName]

        conn.notifyOnDisconnect(forget)
        try:
            await worker.attached(conn)
        except Exception:
            forget()
            raise
        return True

    async def _settle_duplicate(self, old: Any, workerName: str) -> None:
        d = old.remotePrint("master got a duplicate connection")
        d.addTimeout(DUPLICATE_PROBE_TIMEOUT, self.master.reactor)
        try:
            await d
        except Exception as e:
            log.msg(
                f"worker {workerName!r}: old connection does not answer ({e!r}); "
                "dropping it for the new one"
            )
        else:
            log.msg(f"worker {workerName!r}: rejecting duplicate worker, the old one is alive")
            raise DuplicateWorkerRejected(f"rejecting duplicate worker {workerName!r}")
        gone = old.waitForDisconnect()
        old.loseConnection()
        gone.addTimeout(DUPLICATE_PROBE_TIMEOUT, self.master.reactor)
        try:
            await gone
        except defer.TimeoutError:
            # the transport never told us: consider it gone
            old.notifyDisconnected()
