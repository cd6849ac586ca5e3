"""What every change source shares: it runs on one master of a cluster at a time."""

from __future__ import annotations

from zope.interface import implementer

from buildbot import interfaces
from buildbot.util import service


@implementer(interfaces.IChangeSource)
class ChangeSource(service.ClusteredBuildbotService):
    """A change source of master.cfg; `activate` starts its work on the master that
    won its claim (through the ``changesource_masters`` table)."""

    clustered_kind = "ChangeSource"

    def describe(self) -> str:
        return self.name
