"""Clustered services claimed in the database, through the data API: of several
masters sharing one database, exactly one runs each service, and another takes
over when it stops."""

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.data.connector import DataConnector
from buildbot.db import connector
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.fake.fakemq import FakeMQConnector
from buildbot.test.util import db
from buildbot.util import service


class Scheduled(service.ClusteredBuildbotService):
    clustered_kind = "Scheduler"

    def activate(self):
        self.activations = getattr(self, "activations", 0) + 1
        return defer.succeed(None)


class Polled(Scheduled):
    clustered_kind = "ChangeSource"


class ClusteredClaims:
    async def setUp(self):
        await super().setUp()
        from twisted.internet import reactor

        self.master.masterid = 1
        master2 = fakemaster.make_master(self, reactor=reactor, masterid=2)
        db2 = connector.DBConnector(master2.basedir)
        await db2.setServiceParent(master2)
        await db2.setup(db_url=self.db.configured_url)
        self.addCleanup(db2.pool.shutdown)
        master2.db = db2
        self.masters = [self.master, master2]
        for m in self.masters:
            m.mq = FakeMQConnector(self)
            m.data = DataConnector()
            await m.data.setServiceParent(m)
            await m.startService()
            self.addCleanup(m.stopService)
        await self.insert_test_data(
            [fakedb.Master(id=1, name="m1:/a"), fakedb.Master(id=2, name="m2:/b")]
        )

    async def start_everywhere(self, cls, name):
        """The same service on every master, started at the same time; waits for
        every master's first claim attempt."""
        services = [cls(name=name) for _ in self.masters]
        await defer.gatherResults(
            [s.setServiceParent(m) for s, m in zip(services, self.masters, strict=True)]
        )
        await defer.gatherResults([s._activityPoll() for s in services])
        return services

    async def test_one_master_wins_each_service(self):
        for cls in (Scheduled, Polled):
            everyone = [await self.start_everywhere(cls, f"{cls.__name__}-{i}") for i in range(8)]
            for services in everyone:
                self.assertEqual([s.isActive() for s in services].count(True), 1)
                winner = next(s for s in services if s.isActive())
                self.assertEqual(winner.activations, 1)
                # every master registered the same row for the name
                self.assertEqual(len({s.serviceid for s in services}), 1)

    async def test_stopping_the_owner_hands_over_at_next_poll(self):
        for cls in (Scheduled, Polled):
            services = await self.start_everywhere(cls, f"handover-{cls.__name__}")
            owner = next(s for s in services if s.isActive())
            other = next(s for s in services if not s.isActive())
            await owner.disownServiceParent()
            self.assertFalse(owner.isActive())
            await other._activityPoll()
            self.assertTrue(other.isActive())
            # and the first master cannot take it back while the other holds it
            await owner.setServiceParent(self.masters[services.index(owner)])
            await owner._activityPoll()
            self.assertFalse(owner.isActive())

    async def test_a_service_left_without_kind_is_refused(self):
        svc = service.ClusteredBuildbotService(name="no-kind")
        await svc.setServiceParent(self.master)
        self.assertFalse(svc.isActive())
        self.assertEqual(len(self.flushLoggedErrors(NotImplementedError)), 1)


class ClusteredSQLite(ClusteredClaims, db.SQLiteDBMixin, unittest.TestCase):
    pass


class ClusteredPostgreSQL(ClusteredClaims, db.PostgreSQLDBMixin, unittest.TestCase):
    pass


class ClusteredMySQL(ClusteredClaims, db.MySQLDBMixin, unittest.TestCase):
    pass
