"""The worker of a Buildbot-compatible continuous-integration system."""

from importlib import metadata

try:
    version = metadata.version("buildbot-worker")
except metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled source tree
    version = "latest"

__version__ = version
