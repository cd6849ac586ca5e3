"""The master's configuration: loading and validating master.cfg."""

from buildbot.config.errors import ConfigErrors, capture_config_errors, error

__all__ = ["ConfigErrors", "capture_config_errors", "error"]
