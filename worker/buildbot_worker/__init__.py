"""The worker of a Buildbot-compatible continuous-integration system."""

from typing import Any


def __getattr__(name: str) -> Any:
    # `version` is looked up on first use: importlib.metadata costs ~80 ms, which every
    # `buildbot-worker` command and the worker start would pay before doing anything
    if name in ("version", "__version__"):
        from importlib import metadata

        try:
            value = metadata.version("buildbot-worker")
        except metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled source tree
            value = "latest"
        globals()["version"] = globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'buildbot_worker' has no attribute {name!r}")
