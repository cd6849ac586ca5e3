"""The DB service itself: connecting, refusing a database not at head, components."""

import os
import types

import sqlalchemy as sa
from twisted.internet import reactor
from twisted.python import log
from twisted.trial import unittest

from buildbot.db import connector, migrate
from buildbot.db.masters import MastersConnectorComponent
from buildbot.test.fake import fakemaster
from buildbot.test.fakedb import FakeDBConnector


class TestDBConnector(unittest.TestCase):
    async def make_db(self, db_url=None, check_version=True, config=None):
        master = fakemaster.make_master(self, reactor=reactor)
        master.config = config
        db = connector.DBConnector(master.basedir)
        await db.setServiceParent(master)
        await master.startService()
        self.addCleanup(master.stopService)
        await db.setup(check_version=check_version, db_url=db_url)
        return db

    def create_schema(self, path):
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()

    async def test_setup_reads_the_master_config_and_relative_path(self):
        config = types.SimpleNamespace(db={"db_url": "sqlite:///state.sqlite", "engine_kwargs": {}})
        master_basedir = os.path.abspath(self.mktemp())
        os.makedirs(master_basedir)
        self.create_schema(os.path.join(master_basedir, "state.sqlite"))
        master = fakemaster.make_master(self, reactor=reactor, basedir=master_basedir)
        master.config = config
        db = connector.DBConnector(master_basedir)
        await db.setServiceParent(master)
        await master.startService()
        self.addCleanup(master.stopService)
        await db.setup()
        self.assertEqual(db.configured_url, "sqlite:///state.sqlite")
        self.assertEqual(db.engine.url.database, os.path.join(master_basedir, "state.sqlite"))
        masterid = await db.masters.findMasterId("m:/x")
        self.assertEqual((await db.masters.getMaster(masterid)).name, "m:/x")

    async def test_refuses_an_empty_database_naming_the_fix(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        with self.assertRaises(migrate.DatabaseNotReadyError) as cm:
            await self.make_db(db_url=f"sqlite:///{path}")
        self.assertIn("buildbot upgrade-master", str(cm.exception))
        self.flushLoggedErrors()

    async def test_no_version_check_when_asked(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        db = await self.make_db(db_url=f"sqlite:///{path}", check_version=False)
        self.assertIsNotNone(db.pool)

    async def test_components_are_created_once_on_first_use(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        self.create_schema(path)
        db = await self.make_db(db_url=f"sqlite:///{path}")
        self.assertNotIn("masters", vars(db))
        self.assertIsInstance(db.masters, MastersConnectorComponent)
        self.assertIs(db.masters, db.masters)
        self.assertIs(db.masters.db, db)
        with self.assertRaises(AttributeError):
            db.no_such_component  # noqa: B018

    async def test_every_registered_component_and_its_fake_exist(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        self.create_schema(path)
        db = await self.make_db(db_url=f"sqlite:///{path}")
        fake = FakeDBConnector()
        for name in connector.COMPONENTS:
            real_component = getattr(db, name)
            fake_component = getattr(fake, name)
            real_api = {
                m
                for m in dir(real_component)
                if not m.startswith("_") and callable(getattr(real_component, m))
            }
            real_api -= {
                "db",
                "master",
                "hashColumns",
                "ensureLength",
                "checkLength",
                "findSomethingId",
            }
            missing = {m for m in real_api if not hasattr(fake_component, m)}
            self.assertEqual(missing, set(), f"fake {name} lacks {sorted(missing)}")

    async def test_reconfig_cannot_change_the_url(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        self.create_schema(path)
        db = await self.make_db(db_url=f"sqlite:///{path}")
        messages = []
        log.addObserver(messages.append)
        self.addCleanup(log.removeObserver, messages.append)
        await db.reconfigServiceWithBuildbotConfig(
            types.SimpleNamespace(db={"db_url": "sqlite://"})
        )
        self.assertEqual(db.configured_url, f"sqlite:///{path}")
        self.assertTrue(any("cannot change" in " ".join(m.get("message", ())) for m in messages))

    async def test_stop_shuts_the_pool_down(self):
        path = os.path.abspath(self.mktemp()) + ".sqlite"
        self.create_schema(path)
        db = await self.make_db(db_url=f"sqlite:///{path}")
        await db.stopService()
        with self.assertRaises(RuntimeError):
            await db.masters.getMasters()
