"""Source steps: check out a version of a codebase on the worker."""

from buildbot.steps.source.base import Source

__all__ = ["Source"]
