"""Workers as master.cfg declares them: name, password and build settings.

The connection to the worker program (the PB protocol) is the next layer; this
one registers each configured worker in the database and keeps its settings.
"""

from __future__ import annotations

import inspect
from typing import Any

from zope.interface import implementer

from buildbot import config, interfaces
from buildbot.util import service


@implementer(interfaces.IWorker)
class AbstractWorker(service.BuildbotService):
    """A worker of master.cfg: ``Worker(name, password, **settings)``."""

    def __init__(self, name: str, password: Any, *args: Any, **kwargs: Any) -> None:
        # the name is positional in master.cfg files; BuildbotService takes it by keyword
        self.workername = name
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
        # the arguments passed checkConfig: defaults are those of its signature
        given = inspect.signature(self.checkConfig).bind(password, **settings)
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


class Worker(AbstractWorker):
    """A worker that connects to the master over the network (PB)."""
