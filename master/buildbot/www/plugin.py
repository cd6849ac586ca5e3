"""What a web UI distribution exposes to the master, as its `buildbot.www` entry point.

    # buildbot_myview/__init__.py
    from buildbot.www.plugin import Application
    ep = Application(__name__, "My view", ui=True)

The master serves `ep.resource` at `/plugins/<name>/` (the `base` UI at `/`), calls
`ep.setMaster(master)` once and `ep.setConfiguration(settings)` on every reconfig with
the plugin's entry of `c['www']['plugins']`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
from typing import Any

from twisted.web import resource, static

ENTRY_POINT_GROUP = "buildbot.www"


def _distribution_version(modulename: str) -> str:
    top = modulename.split(".")[0]
    try:
        return importlib.metadata.version(top.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        pass
    # a distribution named unlike its package: ask which one ships it
    for dist in importlib.metadata.packages_distributions().get(top, []):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - racy uninstall
            continue
    return "unknown"


def _static_dir(modulename: str) -> str:
    folder = importlib.resources.files(modulename).joinpath("static")
    # a namespace package gives a Traversable that is not a path; its str() is one
    return os.fspath(folder) if isinstance(folder, os.PathLike) else str(folder)


class Application:
    """One UI plugin: its static files and the hooks the master calls."""

    def __init__(self, modulename: str, description: str, ui: bool = True) -> None:
        self.modulename = modulename
        self.description = description
        self.ui = ui
        self.version = _distribution_version(modulename)
        self.static_dir = _static_dir(modulename)
        self.resource: Any = static.File(self.static_dir)
        self.master: Any = None
        self.config: Any = None

    def setMaster(self, master: Any) -> None:
        self.master = master

    def setConfiguration(self, config: Any) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"<Application {self.modulename} {self.version}>"


def find_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """The installed UI plugins by name (not loaded)."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def load_plugin(name: str) -> Application | None:
    """The `ep` of the installed plugin `name`, or None when it is not installed."""
    entry = find_plugins().get(name)
    return entry.load() if entry is not None else None


class PluginsResource(resource.Resource):
    """`/plugins/<name>/...`: the files of the plugins loaded for c['www']['plugins']."""

    def __init__(self, www: Any) -> None:
        super().__init__()
        self.www = www

    def getChild(self, path: bytes, request: Any) -> resource.Resource:
        ui = self.www.plugins.get(path.decode("utf-8", "replace"))
        if ui is None:
            return resource.NoResource()
        return ui.resource
