"""The BuildMaster on a real reactor and SQLite: start, reconfig, heartbeat, stop."""

from __future__ import annotations

import os
import textwrap

import sqlalchemy as sa
from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.python import log
from twisted.trial import unittest

from buildbot import master as master_module
from buildbot.db import migrate
from buildbot.master import BuildMaster
from buildbot.test import fakedb
from buildbot.test.util.processes import ReactorProxy
from buildbot.util import service

# service classes the configs below name, found by import from master.cfg
HEADER = """\
from buildbot.test.integration.test_master import Named
c = BuildmasterConfig = {}
c['multiMaster'] = True
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
"""


class Named(service.BuildbotService):
    """A configured service that records what was done to it."""

    def checkConfig(self, value=0):
        if not isinstance(value, int):
            from buildbot import config

            config.error(f"Named {self.name}: value must be an int")

    def reconfigService(self, value=0):
        self.value = value
        self.reconfigs = getattr(self, "reconfigs", 0) + 1


class MasterTestBase(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.messages = []
        log.addObserver(self._observe)
        self.addCleanup(log.removeObserver, self._observe)
        self.reactor = ReactorProxy()

    def _observe(self, event):
        text = log.textFromEventDict(event)
        if text:
            self.messages.append(text)

    def write_config(self, body=""):
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(HEADER + textwrap.dedent(body))

    def create_db(self):
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()

    def make_master(self):
        m = BuildMaster(self.basedir, reactor=self.reactor)
        self.exits = []
        m._exit_nonzero = lambda: self.exits.append(1)
        return m

    async def start(self, m):
        await m.startService()

        async def stop():
            if m.running:
                await m.stopService()

        self.addCleanup(lambda: defer.ensureDeferred(stop()))

    async def start_ok(self):
        self.create_db()
        m = self.make_master()
        await self.start(m)
        self.assertIn(master_module.RUNNING, self.messages)
        return m


class MasterTest(MasterTestBase):
    async def test_start_registers_the_master_and_runs_services(self):
        self.write_config("c['services'] = [Named(name='one', value=1)]\n")
        m = await self.start_ok()
        self.assertIsNotNone(m.masterid)
        masters = await m.data.get(("masters",))
        self.assertEqual([(x["name"], x["active"]) for x in masters], [(m.name, True)])
        one = m.service_manager.namedServices["one"]
        self.assertTrue(one.running)
        self.assertEqual(one.value, 1)
        self.assertEqual(m.reactor.stopped, 0)
        self.assertTrue(m.name.endswith(":" + self.basedir))

    async def test_stop_marks_the_master_inactive_and_stops_services(self):
        self.write_config("c['services'] = [Named(name='one')]\n")
        m = await self.start_ok()
        one = m.service_manager.namedServices["one"]
        await m.stopService()
        self.assertFalse(one.running)
        self.assertIn("BuildMaster is stopped", self.messages)
        # read with a fresh engine: the master's pool is shut down
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, active FROM masters")).all()
        engine.dispose()
        self.assertEqual(rows, [(m.name, 0)])

    async def assert_startup_fails(self, *expected):
        m = self.make_master()
        await self.start(m)
        self.assertIn(master_module.STARTUP_FAILED, self.messages)
        self.assertNotIn(master_module.RUNNING, self.messages)
        text = "\n".join(self.messages)
        for e in expected:
            self.assertIn(e, text)
        self.assertEqual(m.reactor.stopped, 1)
        self.assertEqual(self.exits, [1])
        self.assertFalse(any(s.running for s in m.services))
        return m

    async def test_config_errors_stop_the_start(self):
        self.write_config("c['title'] = 1\nc['bogus'] = 2\n")
        self.create_db()
        await self.assert_startup_fails(
            "c['title'] must be a string", "Unknown BuildmasterConfig key bogus"
        )

    async def test_raising_config_names_file_and_line(self):
        self.write_config("x = 1\nraise RuntimeError('no good')\n")
        await self.assert_startup_fails("master.cfg, line 6: RuntimeError: no good")

    async def test_empty_database_names_the_command_that_fixes_it(self):
        self.write_config()
        await self.assert_startup_fails("buildbot upgrade-master")

    async def test_unexpected_error_is_logged_with_traceback(self):
        self.write_config()
        self.create_db()
        m = self.make_master()

        def broken(*args, **kwargs):
            raise ZeroDivisionError("broken")

        m.mq.setup = broken
        await self.start(m)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertIn(master_module.STARTUP_FAILED, self.messages)
        self.assertEqual(m.reactor.stopped, 1)

    async def test_reconfig_adds_changes_and_removes_services(self):
        self.write_config("c['services'] = [Named(name='one', value=1), Named(name='two')]\n")
        m = await self.start_ok()
        one = m.service_manager.namedServices["one"]
        two = m.service_manager.namedServices["two"]

        self.write_config("c['services'] = [Named(name='one', value=5), Named(name='three')]\n")
        await m.reconfig()
        self.assertIn(master_module.RECONFIG_COMPLETE, self.messages)
        services = m.service_manager.namedServices
        self.assertEqual(sorted(services), ["one", "three"])
        self.assertIs(services["one"], one)
        self.assertEqual((one.value, one.reconfigs), (5, 2))
        self.assertFalse(two.running)
        self.assertTrue(services["three"].running)
        self.assertEqual(m.config.services.keys(), {"one", "three"})

    async def test_broken_reconfig_changes_nothing(self):
        self.write_config("c['services'] = [Named(name='one', value=1)]\n")
        m = await self.start_ok()
        old_config = m.config
        one = m.service_manager.namedServices["one"]

        self.write_config("c['services'] = [Named(name='one', value='x'), Named(name='two')]\n")
        await m.reconfig()
        self.assertIn("Named one: value must be an int", "\n".join(self.messages))
        self.assertIn(master_module.RECONFIG_FAILED, self.messages)
        self.assertIn(master_module.RECONFIG_ABORTED, self.messages)
        self.assertIs(m.config, old_config)
        self.assertEqual(list(m.service_manager.namedServices), ["one"])
        self.assertEqual((one.value, one.reconfigs), (1, 1))
        self.assertTrue(one.running)

    async def test_reconfig_requested_during_reconfig_runs_after_it(self):
        self.write_config("c['services'] = [Named(name='one', value=1)]\n")
        m = await self.start_ok()
        self.write_config("c['services'] = [Named(name='one', value=2)]\n")
        first = m.reconfig()
        second = m.reconfig()
        await first
        await second
        self.assertEqual(self.messages.count(master_module.RECONFIG_COMPLETE), 2)
        self.assertEqual(m.service_manager.namedServices["one"].value, 2)

    async def test_heartbeat_refreshes_and_expires_other_masters(self):
        self.write_config()
        m = await self.start_ok()
        long_ago = int(global_reactor.seconds()) - 3600
        await m.db.pool.do(
            lambda conn: conn.execute(
                m.db.model.masters.insert().values(
                    **fakedb.Master(id=99, name="dead:/x", active=1, last_active=long_ago).values
                )
            )
        )
        await m._beat()
        masters = {x["name"]: x["active"] for x in await m.data.get(("masters",))}
        self.assertEqual(masters, {m.name: True, "dead:/x": False})

    async def test_expiry_delay_is_configurable(self):
        self.write_config()
        m = await self.start_ok()
        m.master_expire_seconds = 30
        seen = int(global_reactor.seconds()) - 60
        await m.db.pool.do(
            lambda conn: conn.execute(
                m.db.model.masters.insert().values(
                    **fakedb.Master(id=99, name="quiet:/x", active=1, last_active=seen).values
                )
            )
        )
        await m._beat()
        masters = {x["name"]: x["active"] for x in await m.data.get(("masters",))}
        self.assertEqual(masters["quiet:/x"], False)

    async def test_sighup_reconfigures(self):
        self.write_config("c['services'] = [Named(name='one', value=1)]\n")
        m = await self.start_ok()
        self.write_config("c['services'] = [Named(name='one', value=3)]\n")
        done = defer.Deferred()
        original = m.reconfig

        def reconfig():
            d = original()
            d.addBoth(done.callback)
            return d

        m.reconfig = reconfig
        m._on_sighup()  # what the signal handler does, from any thread
        await done
        self.assertEqual(m.service_manager.namedServices["one"].value, 3)


BUILDERS_HEADER = """\
from buildbot.plugins import schedulers, util, worker
c = BuildmasterConfig = {}
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['protocols'] = {'pb': {'port': 'tcp:0:interface=127.0.0.1'}}
c['workers'] = [worker.Worker('w1', 'p'), worker.Worker('w2', 'p')]
"""


def builders_config(builders, schedulers):
    """master.cfg text: builders as (name, workers, tags), ForceSchedulers as (name, builders)."""
    lines = [BUILDERS_HEADER, "c['builders'] = ["]
    for name, workers, tags in builders:
        lines.append(
            f"    util.BuilderConfig(name={name!r}, workernames={workers!r}, tags={tags!r},"
            " factory=util.BuildFactory()),"
        )
    lines.append("]\nc['schedulers'] = [")
    for name, names in schedulers:
        lines.append(f"    schedulers.ForceScheduler(name={name!r}, builderNames={names!r}),")
    lines.append("]\n")
    return "\n".join(lines)


class BuildersAndSchedulersReconfig(MasterTestBase):
    def write(self, builders, schedulers):
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(builders_config(builders, schedulers))

    async def state(self, m):
        builders = {
            b["name"]: b["tags"]
            for b in await m.data.get(("builders",))
            if m.masterid in b["masterids"]
        }
        forcers = {f["name"]: f["builder_names"] for f in await m.data.get(("forceschedulers",))}
        schedulers = {
            s["name"]: (s["master"] or {}).get("masterid")
            for s in await m.data.get(("schedulers",))
        }
        workers = {
            w["name"]: sorted(c["builderid"] for c in w["configured_on"])
            for w in await m.data.get(("workers",))
        }
        return builders, forcers, schedulers, workers

    async def test_add_remove_change_builders_and_schedulers(self):
        self.write(
            [("b1", ["w1"], ["a"]), ("b2", ["w2"], [])],
            [("s1", ["b1", "b2"]), ("s2", ["b2"])],
        )
        m = await self.start_ok()
        await self.wait_for_claims(m, 2)
        builders, forcers, schedulers, workers = await self.state(m)
        self.assertEqual(builders, {"b1": ["a"], "b2": []})
        self.assertEqual(forcers, {"s1": ["b1", "b2"], "s2": ["b2"]})
        self.assertEqual(schedulers, {"s1": m.masterid, "s2": m.masterid})
        b1 = m.botmaster.builders["b1"]
        s1 = m.scheduler_manager.namedServices["s1"]

        # b2 and s2 go, b3 and s3 come, b1's tags and s1's builders change
        self.write(
            [("b1", ["w1", "w2"], ["a", "b"]), ("b3", ["w2"], [])],
            [("s1", ["b1"]), ("s3", ["b3"])],
        )
        await m.reconfig()
        self.assertIn(master_module.RECONFIG_COMPLETE, self.messages)
        await self.wait_for_claims(m, 2)
        builders, forcers, schedulers, workers = await self.state(m)
        self.assertEqual(builders, {"b1": ["a", "b"], "b3": []})
        self.assertEqual(forcers, {"s1": ["b1"], "s3": ["b3"]})
        self.assertEqual(schedulers["s3"], m.masterid)
        self.assertIsNone(schedulers["s2"])  # its claim was given back
        self.assertIs(m.botmaster.builders["b1"], b1)
        self.assertIs(m.scheduler_manager.namedServices["s1"], s1)
        ids = {b["name"]: b["builderid"] for b in await m.data.get(("builders",))}
        self.assertEqual(workers["w1"], [ids["b1"]])
        self.assertEqual(workers["w2"], sorted([ids["b1"], ids["b3"]]))

        # a broken config changes nothing
        self.write([("b1", ["nosuch"], [])], [("s1", ["b9"])])
        await m.reconfig()
        self.assertIn(master_module.RECONFIG_ABORTED, self.messages)
        self.assertEqual(await self.state(m), (builders, forcers, schedulers, workers))
        self.assertEqual(sorted(m.botmaster.builders), ["b1", "b3"])

        # and a force still works afterwards
        bsid, brids = await m.data.control("force", {"owner": "me"}, ("forceschedulers", "s1"))
        self.assertEqual(list(brids), [ids["b1"]])

    async def wait_for_claims(self, m, count):
        """Clustered schedulers claim in the background after they start."""
        for s in m.scheduler_manager.namedServices.values():
            await s._activityPoll()
        active = [s for s in m.scheduler_manager.namedServices.values() if s.isActive()]
        self.assertEqual(len(active), count)
