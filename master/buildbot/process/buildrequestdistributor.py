"""Hands pending build requests to free workers: the `BuildRequestDistributor`.

`maybeStartBuildsOn(names)` marks builders as worth a look; one activity loop at a
time works through the marked builders, best first (`prioritizeBuilders`), so that a
burst of wake-ups costs one pass and one read of the unclaimed requests (skipped
when none of the builders has a free worker). For a builder it collapses the queue, then, while
a worker is free, picks a request (`nextBuild`, else highest priority then oldest),
a worker for it (`nextWorker`, `select_next_worker`, else a random one that
`canStartBuild`), claims the request in the DB (a request another master claimed
first is skipped) and starts the build.
"""

from __future__ import annotations

import random
from typing import Any

from twisted.internet import defer
from twisted.python import failure, log

from buildbot.data.buildrequests import buildrequest_dict
from buildbot.process.buildrequest import BuildRequest
from buildbot.process.results import SKIPPED
from buildbot.util import service


def _request_order(brdict: dict[str, Any]) -> tuple[Any, ...]:
    return (-(brdict.get("priority") or 0), brdict["submitted_at"], brdict["buildrequestid"])


class BuildRequestDistributor(service.AsyncMultiService):
    name = "buildrequest_distributor"  # type: ignore[assignment]

    def __init__(self, botmaster: Any) -> None:
        super().__init__()
        self.botmaster = botmaster
        self._pending: set[str] = set()
        self._loop: defer.Deferred[None] | None = None
        self._waiters: list[defer.Deferred[None]] = []

    @property
    def master(self) -> Any:
        return self.botmaster.master

    def stopService(self) -> defer.Deferred[None]:  # type: ignore[override]
        d = defer.maybeDeferred(super().stopService)

        def wait(_: Any) -> Any:
            # let the running pass end: it may be writing to the DB
            return self._wait_loop() if self._loop is not None else None

        return d.addCallback(wait)

    def _wait_loop(self) -> defer.Deferred[None]:
        d: defer.Deferred[None] = defer.Deferred()
        self._waiters.append(d)
        return d

    def maybeStartBuildsOn(self, builderNames: list[str]) -> defer.Deferred[None]:
        """Look at these builders soon; fires once the activity loop has seen them."""
        if not self.running:
            return defer.succeed(None)
        self._pending.update(builderNames)
        done = self._wait_loop()
        if self._loop is None:
            # the loop may run to its end at once, resetting `_loop` itself
            self._loop = defer.Deferred()
            defer.ensureDeferred(self._activity_loop())
        return done

    async def _activity_loop(self) -> None:
        try:
            while self._pending and self.running:
                names = sorted(self._pending)
                self._pending.clear()
                builders = [
                    b
                    for b in (self.botmaster.builders.get(n) for n in names)
                    if b is not None and b.config is not None
                ]
                # nothing can start without a free worker: spare the DB the question
                builders = [b for b in builders if b.getAvailableWorkers()]
                if not builders:
                    continue
                queues = await self._unclaimed()
                for builder in await self._prioritize(builders, queues):
                    if not self.running:
                        break
                    builderid = await builder.getBuilderId()
                    try:
                        await self._start_builds_on(builder, queues.get(builderid, []))
                    except Exception:
                        log.err(failure.Failure(), f"while starting builds on {builder.name!r}")
        except Exception:
            log.err(failure.Failure(), "in the build request distributor")
        finally:
            self._loop = None
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)

    # --- ordering of builders -----------------------------------------------------------

    async def _unclaimed(self) -> dict[int, list[dict[str, Any]]]:
        """The unclaimed requests of every builder, best first: one query a pass."""
        brs = await self.master.db.buildrequests.getBuildRequests(claimed=False, complete=False)
        queues: dict[int, list[dict[str, Any]]] = {}
        for br in brs:
            queues.setdefault(br.builderid, []).append(buildrequest_dict(br))
        for queue in queues.values():
            queue.sort(key=_request_order)
        return queues

    async def _prioritize(
        self, builders: list[Any], queues: dict[int, list[dict[str, Any]]]
    ) -> list[Any]:
        custom = getattr(getattr(self.master, "config", None), "prioritizeBuilders", None)
        if custom is not None:
            try:
                ordered = await defer.maybeDeferred(custom, self.master, builders)
                return list(ordered or [])
            except Exception:
                log.err(failure.Failure(), "in prioritizeBuilders; using the default order")
        keys = {}
        for builder in builders:
            queue = queues.get(await builder.getBuilderId()) or []
            if not queue:
                keys[builder.name] = (1, 0, 0, builder.name)
            else:
                top = max(br.get("priority") or 0 for br in queue)
                oldest = min(br["submitted_at"] for br in queue)
                keys[builder.name] = (0, -top, oldest, builder.name)
        return sorted(builders, key=lambda b: keys[b.name])

    # --- one builder ----------------------------------------------------------------------

    async def _collapse(self, builder: Any, queue: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Requests a newer compatible one makes redundant complete as SKIPPED."""
        # what the default rule reads is read once per pass, not once per pair
        fn = builder.getCollapseRequestsFn(cache={})
        if fn is None or len(queue) < 2:
            return queue
        updates = self.master.data.updates
        survivors: list[dict[str, Any]] = []
        for br in sorted(queue, key=lambda b: b["buildrequestid"], reverse=True):
            newer = None
            for other in survivors:
                if await defer.maybeDeferred(fn, self.master, builder, other, br):
                    newer = other
                    break
            if newer is None:
                survivors.append(br)
                continue
            brid = br["buildrequestid"]
            if await updates.claimBuildRequests([brid]):
                await updates.completeBuildRequests([brid], SKIPPED)
        return sorted(survivors, key=_request_order)

    async def _start_builds_on(self, builder: Any, queue: list[dict[str, Any]]) -> None:
        if not queue or not builder.getAvailableWorkers():
            return
        queue = await self._collapse(builder, list(queue))
        while queue:
            workers = builder.getAvailableWorkers()
            if not workers:
                return
            brdict = await self._next_request(builder, queue)
            if brdict is None:
                return
            queue.remove(brdict)
            breq = await BuildRequest.fromBrdict(self.master, brdict)
            breq.buildername = builder.name
            wfb = await self._pick_worker(builder, workers, breq)
            if wfb is None:
                continue
            updates = self.master.data.updates
            if not await updates.claimBuildRequests([breq.id]):
                continue  # taken by another master, or cancelled
            try:
                started = await builder.maybeStartBuild(wfb, [breq])
            except Exception:
                log.err(failure.Failure(), f"while starting a build of {breq!r}")
                started = False
            if not started:
                await updates.unclaimBuildRequests([breq.id])

    async def _next_request(
        self, builder: Any, queue: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        fn = getattr(builder.config, "nextBuild", None)
        if fn is None:
            return queue[0]
        try:
            chosen = await defer.maybeDeferred(fn, builder, list(queue))
        except Exception:
            log.err(failure.Failure(), f"in nextBuild of {builder.name!r}")
            return None
        if chosen is None:
            return None
        chosen_id = chosen["buildrequestid"] if isinstance(chosen, dict) else chosen.id
        return next((br for br in queue if br["buildrequestid"] == chosen_id), None)

    async def _pick_worker(self, builder: Any, workers: list[Any], breq: BuildRequest) -> Any:
        candidates = list(workers)
        pick = getattr(builder.config, "nextWorker", None) or getattr(
            getattr(self.master, "config", None), "select_next_worker", None
        )
        while candidates:
            if pick is not None:
                try:
                    wfb = await defer.maybeDeferred(pick, builder, list(candidates), breq)
                except Exception:
                    log.err(failure.Failure(), f"in nextWorker of {builder.name!r}")
                    return None
                if wfb is None or wfb not in candidates:
                    return None
            else:
                wfb = random.choice(candidates)
            if await builder.canStartBuild(wfb, breq):
                return wfb
            candidates.remove(wfb)
        return None
