"""The master's configuration: loading and validating master.cfg."""

from buildbot.config.errors import ConfigErrors, capture_config_errors, error

__all__ = ["ConfigErrors", "capture_config_errors", "error"]


def __getattr__(name: str):
    # `from buildbot.config import BuilderConfig`, as older master.cfg files write it;
    # imported on use, since the builder module needs buildbot.util.service, which
    # imports this package
    if name == "BuilderConfig":
        from buildbot.config.builder import BuilderConfig

        return BuilderConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
