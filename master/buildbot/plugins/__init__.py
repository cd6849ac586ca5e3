"""The names a master.cfg uses: ``from buildbot.plugins import steps, util, ...``.

Each namespace reads the entry-point group ``buildbot.<namespace>``, so
third-party distributions add names by declaring entry points in that group.
Names resolve (and their modules are imported) on first use.
"""

from buildbot.plugins.db import Namespace

__all__ = ["changes", "reporters", "schedulers", "secrets", "steps", "util", "webhooks", "worker"]

worker = Namespace("worker")
changes = Namespace("changes")
schedulers = Namespace("schedulers")
steps = Namespace("steps")
reporters = Namespace("reporters")
util = Namespace("util")
secrets = Namespace("secrets")
webhooks = Namespace("webhooks")
