"""What every fake component shares with the real ones: the length and hash rules,
the clock, and the connector's in-memory tables."""

from __future__ import annotations

from typing import Any

from buildbot.db import base


class FakeDBComponent(base.DBConnectorComponent):
    def __init__(self, connector: Any) -> None:
        super().__init__(connector)
        self.t = connector.tables
        self.model = connector.model
