"""The fake DB connector: the real component API over in-memory tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import defer

from buildbot.db import model
from buildbot.db.connector import COMPONENTS, ComponentsMixin
from buildbot.test.fakedb.rows import Row
from buildbot.test.fakedb.store import FakeTables
from buildbot.util import service

# Each real component has a fake twin: buildbot.db.builds:BuildsConnectorComponent
# -> buildbot.test.fakedb.builds:FakeBuildsComponent.
FAKE_COMPONENTS = {
    name: path.replace("buildbot.db.", "buildbot.test.fakedb.", 1)
    .replace(":", ":Fake", 1)
    .replace("ConnectorComponent", "Component")
    for name, path in COMPONENTS.items()
}


class FakeDBConnector(ComponentsMixin, service.AsyncMultiService):
    name = "db"
    component_paths = FAKE_COMPONENTS

    def __init__(self, basedir: str = "basedir") -> None:
        super().__init__()
        self.basedir = basedir
        self.model = model.Model(self)
        self.tables = FakeTables()
        self.pool = None

    def setup(self, *args: Any, **kwargs: Any) -> defer.Deferred[None]:
        return defer.succeed(None)

    def insert_test_data(self, rows: Iterable[Row]) -> defer.Deferred[None]:
        for row in rows:
            self.tables.insert(row.table, row.values)
        return defer.succeed(None)
