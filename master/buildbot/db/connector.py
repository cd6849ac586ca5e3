"""The DB service: one engine, one thread pool, the model and the components.

Components are reached as attributes (``master.db.builds``...) and created on
first use, so a module that is not needed is not imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.db import enginestrategy, migrate, model, pool
from buildbot.util import service

# attribute -> "module:Class" of each component; created on first access.
COMPONENTS: dict[str, str] = {
    name: f"buildbot.db.{module}:{cls}ConnectorComponent"
    for name, module, cls in [
        ("masters", "masters", "Masters"),
        ("builders", "builders", "Builders"),
        ("tags", "tags", "Tags"),
        ("projects", "projects", "Projects"),
        ("codebases", "codebases", "Codebases"),
        ("codebase_commits", "codebase_commits", "CodebaseCommits"),
        ("codebase_branches", "codebase_branches", "CodebaseBranches"),
        ("workers", "workers", "Workers"),
        ("changes", "changes", "Changes"),
        ("changesources", "changesources", "ChangeSources"),
        ("schedulers", "schedulers", "Schedulers"),
        ("sourcestamps", "sourcestamps", "SourceStamps"),
        ("buildsets", "buildsets", "Buildsets"),
        ("buildrequests", "buildrequests", "BuildRequests"),
        ("builds", "builds", "Builds"),
        ("build_data", "build_data", "BuildData"),
        ("steps", "steps", "Steps"),
        ("logs", "logs", "Logs"),
        ("state", "state", "State"),
        ("users", "users", "Users"),
        ("test_result_sets", "test_result_sets", "TestResultSets"),
        ("test_results", "test_results", "TestResults"),
    ]
}


class ComponentsMixin:
    """Creates a component on first access to its attribute and keeps it.

    Subclasses (the fake connector) point `component_paths` elsewhere.
    """

    component_paths: dict[str, str] = COMPONENTS

    def __getattr__(self, name: str) -> Any:
        # reached only when normal lookup fails: a component not created yet
        paths = type(self).component_paths
        if name not in paths:
            raise AttributeError(f"{type(self).__name__} has no attribute or component {name!r}")
        module_name, _, class_name = paths[name].partition(":")
        component = getattr(importlib.import_module(module_name), class_name)(self)
        self.__dict__[name] = component
        return component


class DBConnector(ComponentsMixin, service.ReconfigurableServiceMixin, service.AsyncMultiService):
    """``master.db``: the database, started by `setup` before anything else uses it."""

    name = "db"

    def __init__(self, basedir: str) -> None:
        super().__init__()
        self.basedir = basedir
        self.configured_url: str | None = None
        self.engine: Any = None
        self.pool: pool.DBThreadPool | None = None
        self.model = model.Model(self)

    async def _setup(
        self,
        check_version: bool = True,
        verbose: bool = True,
        db_url: str | None = None,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if db_url is None:
            db_config = self.master.config.db
            db_url = db_config["db_url"]
            engine_kwargs = db_config.get("engine_kwargs", {})
        self.configured_url = db_url
        self.engine = enginestrategy.create_engine(
            db_url, basedir=self.basedir, **(engine_kwargs or {})
        )
        self.pool = pool.DBThreadPool(self.engine, reactor=self.master.reactor, verbose=False)
        if check_version:
            state = await self.pool.do(migrate.thd_inspect)
            error = state.error()
            if error is not None:
                if verbose:
                    log.msg(f"database problem: {error}")
                raise error

    def setup(self, *args: Any, **kwargs: Any):
        """Connect; with `check_version`, fail unless the schema is at head.

        The URL comes from ``master.config.db`` unless given as `db_url`.
        """
        return defer.ensureDeferred(self._setup(*args, **kwargs))

    def reconfigServiceWithBuildbotConfig(self, new_config: Any):
        new_url = new_config.db["db_url"]
        if self.configured_url is not None and new_url != self.configured_url:
            log.msg("the database URL cannot change while the master runs; restart to use it")
        return defer.succeed(None)

    async def _stop(self) -> None:
        await service.AsyncMultiService.stopService(self)
        if self.pool is not None:
            await self.pool.shutdown()

    def stopService(self):
        return defer.ensureDeferred(self._stop())
