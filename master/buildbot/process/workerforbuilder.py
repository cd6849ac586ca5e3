"""The pairing of one worker with one builder: `build.workerforbuilder`.

It answers whether the worker can take a build for this builder now, and keeps the
worker's list of running builds as builds start and end.
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
        conn = worker.conn
        if conn is None or not worker.canStartBuild():
            return False
        if self.builder.name not in getattr(conn, "builders", {}):
            return False
        max_builds = getattr(worker, "max_builds", None)
        return max_builds is None or len(worker.building) < max_builds

    def isBusy(self) -> bool:
        """Running a build of this builder."""
        return bool(self.builds)

    def buildStarted(self, build: Any) -> None:
        self.builds.add(build)
        self.worker.building.add(build)

    def buildFinished(self, build: Any) -> None:
        self.builds.discard(build)
        self.worker.building.discard(build)
