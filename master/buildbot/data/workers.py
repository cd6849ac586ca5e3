"""Workers: where each is configured and connected, and its pause/graceful state."""

from __future__ import annotations

from typing import Any

from buildbot.data import base, exceptions

#: the worker-reported info keys the data API exposes
WORKERINFO_KEYS = ("admin", "host", "access_uri", "version")
CONTROL_ACTIONS = ("stop", "pause", "unpause", "kill")


def worker_dict(w: Any, master: Any) -> dict[str, Any]:
    entity = {
        "workerid": w.id,
        "name": w.name,
        "workerinfo": {k: w.workerinfo.get(k) for k in WORKERINFO_KEYS},
        "paused": w.paused,
        "pause_reason": w.pause_reason,
        "graceful": w.graceful,
        "connected_to": [{"masterid": m} for m in w.connected_to],
        "configured_on": [
            {"masterid": c.masterid, "builderid": c.builderid} for c in w.configured_on
        ],
    }
    # Our extension: a latent worker configured on this master also shows its state,
    # `latent_state`: 'not_substantiated', 'substantiating', 'substantiated' or
    # 'insubstantiating' (each change publishes `state_updated`). The state lives in
    # the master running the worker, so it is not in `Worker.fields` (not a filter or
    # an order key); other workers' entities are exactly 4.3's.
    state = _latent_state(master, w.name)
    if state is not None:
        entity["latent_state"] = state
    return entity


def _latent_state(master: Any, name: str) -> str | None:
    # a master without its worker manager (unit tests of the data layer) runs none
    worker = master.workers.getWorkerByName(name) if master.workers is not None else None
    if worker is None or not worker.is_latent:
        return None
    return worker.state.api_name


class WorkerEndpoint(base.Endpoint):
    pathPatterns = """
        /workers/n:workerid
        /workers/i:name
        /masters/n:masterid/workers/n:workerid
        /masters/n:masterid/workers/i:name
        /masters/n:masterid/builders/n:builderid/workers/n:workerid
        /masters/n:masterid/builders/n:builderid/workers/i:name
        /builders/n:builderid/workers/n:workerid
        /builders/n:builderid/workers/i:name
    """

    async def get(self, resultSpec, kwargs):
        w = await self.master.db.workers.getWorker(
            workerid=kwargs.get("workerid"),
            name=kwargs.get("name"),
            masterid=kwargs.get("masterid"),
            builderid=kwargs.get("builderid"),
        )
        return worker_dict(w, self.master) if w is not None else None

    async def control(self, action, args, kwargs):
        if action not in CONTROL_ACTIONS:
            raise exceptions.InvalidControlException(f"action: {action} is not supported")
        worker = await self.get(None, kwargs)
        if worker is None:
            raise exceptions.InvalidPathError("no such worker")
        reason = kwargs.get("reason", args.get("reason", "no reason"))
        self.master.mq.produce(
            ("control", "worker", str(worker["workerid"]), action), {"reason": reason}
        )
        return None


class WorkersEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "workers"
    pathPatterns = """
        /workers
        /masters/n:masterid/workers
        /masters/n:masterid/builders/n:builderid/workers
        /builders/n:builderid/workers
    """

    async def get(self, resultSpec, kwargs):
        paused = resultSpec.popBooleanFilter("paused") if resultSpec else None
        graceful = resultSpec.popBooleanFilter("graceful") if resultSpec else None
        workers = await self.master.db.workers.getWorkers(
            masterid=kwargs.get("masterid"),
            builderid=kwargs.get("builderid"),
            paused=paused,
            graceful=graceful,
        )
        return [worker_dict(w, self.master) for w in workers]


class Worker(base.ResourceType):
    name = "worker"
    plural = "workers"
    endpoints = [WorkerEndpoint, WorkersEndpoint]
    keyField = "workerid"
    fields = {
        "workerid": "int",
        "name": "str",
        "connected_to": "[entity(master_id)]",
        "configured_on": "[entity(master_builder)]",
        "workerinfo": "json",
        "paused": "bool",
        "pause_reason": "str?",
        "graceful": "bool",
    }
    eventPathPatterns = "/workers/:workerid"

    @base.updateMethod
    def findWorkerId(self, name: str):
        return self.master.db.workers.findWorkerId(name)

    @base.updateMethod
    async def workerConnected(self, workerid: int, masterid: int, workerinfo: dict) -> None:
        await self.master.db.workers.workerConnected(workerid, masterid, workerinfo)
        await self.generateEvent(workerid, "connected")

    @base.updateMethod
    async def workerDisconnected(self, workerid: int, masterid: int) -> None:
        await self.master.db.workers.workerDisconnected(workerid, masterid)
        await self.generateEvent(workerid, "disconnected")

    @base.updateMethod
    async def workerMissing(
        self, workerid: int, masterid: int, last_connection: str, notify: list[str]
    ) -> None:
        worker = await self.master.data.get(("workers", workerid))
        if worker is None:
            return
        worker["last_connection"] = last_connection
        worker["notify"] = list(notify)
        self.produceEvent(worker, "missing")

    @base.updateMethod
    def workerConfigured(self, workerid: int, masterid: int, builderids: list[int]):
        return self.master.db.workers.workerConfigured(workerid, masterid, builderids)

    @base.updateMethod
    def deconfigureAllWorkersForMaster(self, masterid: int):
        return self.master.db.workers.deconfigureAllWorkersForMaster(masterid)

    @base.updateMethod
    async def set_worker_paused(
        self, workerid: int, paused: bool, pause_reason: str | None = None
    ) -> None:
        await self.master.db.workers.set_worker_paused(workerid, paused, pause_reason)
        await self.generateEvent(workerid, "state_updated")

    @base.updateMethod
    async def set_worker_graceful(self, workerid: int, graceful: bool) -> None:
        await self.master.db.workers.set_worker_graceful(workerid, graceful)
        await self.generateEvent(workerid, "state_updated")

    @base.updateMethod
    async def workerLatentStateChanged(self, workerid: int, latent_state: str) -> None:
        """A latent worker changed state: `state_updated` with the entity as of then."""
        if not self.wantsEvent("state_updated", workerid=workerid):
            return
        worker = await self.master.data.get(("workers", workerid))
        if worker is None:
            return
        worker["latent_state"] = latent_state
        self.produceEvent(worker, "state_updated")

    @base.updateMethod
    async def setWorkerState(self, workerid: int, paused: bool, graceful: bool) -> None:
        await self.master.db.workers.setWorkerState(workerid, paused, graceful)
        await self.generateEvent(workerid, "state_updated")
