"""Exceptions shared across the master."""

from __future__ import annotations


class PluginDBError(AttributeError):
    """A name asked of `buildbot.plugins` is unknown, ambiguous or fails to load.

    It is an AttributeError so that `hasattr(util, 'Name')` answers False.
    """
