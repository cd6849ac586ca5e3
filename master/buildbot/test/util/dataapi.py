"""Test helpers for the data API: a master with a DB, an MQ recorder and ``master.data``.

    class Tests(dataapi.DataMixin):
        async def test_something(self):
            await self.insert_test_data([fakedb.Master(id=1)])
            self.assertEqual(await self.data.get(("masters", 1)), {...})
            self.mq.assertProductions([...])

    TestFake, TestSQLite, TestPostgreSQL, TestMySQL = db.backend_test_cases(Tests)

`connector_class` picks the real DataConnector (default) or the fake one.
"""

from __future__ import annotations

from buildbot.data.connector import DataConnector
from buildbot.test.fake.fakedata import FakeDataConnector
from buildbot.test.fake.fakemq import FakeMQConnector

#: the clock every data test runs at (epoch seconds)
NOW = 1700000000


class DataMixin:
    """Put on top of a DB mixin (buildbot.test.util.db): sets `self.data` and `self.mq`."""

    connector_class: type[DataConnector] = DataConnector

    async def setUp(self) -> None:
        await super().setUp()  # type: ignore[misc]
        self.patch(self.master.reactor, "seconds", lambda: NOW)
        self.mq = FakeMQConnector(self)
        self.master.mq = self.mq
        if self.connector_class is FakeDataConnector:
            self.data = FakeDataConnector(self.master, self)
        else:
            self.data = self.connector_class()
            await self.data.setServiceParent(self.master)
        self.master.data = self.data

    def assertProductions(self, expected, orderMatters: bool = True) -> None:
        self.mq.assertProductions(expected, orderMatters=orderMatters)


class FakeDataMixin(DataMixin):
    connector_class = FakeDataConnector


def data_test_cases(tests: type) -> tuple[type, ...]:
    """TestCases running `tests` (a DataMixin subclass) with the real DataConnector on
    the four DB back-ends, and with the FakeDataConnector on the fake DB and SQLite.

        TestFake, TestSQLite, TestPostgreSQL, TestMySQL, TestFakeData, TestFakeDataSQLite = (
            dataapi.data_test_cases(Tests))
    """
    from twisted.trial import unittest

    from buildbot.test.util import db

    cases = list(db.backend_test_cases(tests))
    fake = type("FakeData" + tests.__name__, (tests,), {"connector_class": FakeDataConnector})
    for mixin, name in ((db.FakeDBMixin, "TestFakeData"), (db.SQLiteDBMixin, "TestFakeDataSQLite")):
        cls = type(name, (fake, mixin, unittest.TestCase), {"__module__": tests.__module__})
        cls.__qualname__ = name
        cases.append(cls)
    return tuple(cases)
