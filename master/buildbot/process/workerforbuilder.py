"""The pairing of one worker with one builder: `build.workerforbuilder`.

It answers whether the worker can take a build for this builder now, and keeps the
worker's list of running builds as builds start and end (telling a latent worker,
which stops when idle).
"""

from __future__ import annotations

from typing import Any


class WorkerForBuilder:
    def __init__(self, builder: Any, worker: Any) -> None:
        self.builder = builder
        self.worker = worker
        # a worker runs one build of a builder at a time: the builds share the
        # builder's directory, and the worker runs one command per builder
        self.builds: set[Any] = set()

    def __repr__(self) -> str:
        return f"<WorkerForBuilder {self.worker.name!r} for {self.builder.name!r}>"

    @property
    def conn(self) -> Any:
        return self.worker.conn

    def getWorkerCommandVersion(self, command: str, oldversion: str | None = None) -> Any:
        conn = self.worker.conn
        if conn is None:
            return oldversion
        return conn.info.get("worker_commands", {}).get(command, oldversion)

    def isAvailable(self) -> bool:
        """Connected, serving this builder, not paused or stopping, below `max_builds`,
        and not already running a build of this builder."""
        if self.builds:
            return False
        worker = self.worker
        if getattr(worker, "is_latent", False):
            # started for the build when needed (see `Builder.maybeStartBuild`)
            return worker.canStartBuild() and self._below_max_builds()
        conn = worker.conn
        if conn is None or not worker.canStartBuild():
            return False
        if self.builder.name not in getattr(conn, "builders", {}):
            return False
        return self._below_max_builds()

    def _below_max_builds(self) -> bool:
        max_builds = getattr(self.worker, "max_builds", None)
        return max_builds is None or len(self.worker.building) < max_builds

    def isBusy(self) -> bool:
        """Running a build of this builder."""
        return bool(self.builds)

    def buildStarted(self, build: Any) -> None:
        self.builds.add(build)
        self.worker.building.add(build)
        started = getattr(self.worker, "buildStarted", None)
        if started is not None:
            started(self)

    def buildFinished(self, build: Any) -> None:
        self.builds.discard(build)
        self.worker.building.discard(build)
        finished = getattr(self.worker, "buildFinished", None)
        if finished is not None:
            finished(self, getattr(build, "results", None))
