"""A real BuildMaster on SQLite with a ForceScheduler in master.cfg: the scheduler
runs, claims its row, and `force` through the data API makes a buildset."""

import os
import textwrap

import sqlalchemy as sa
from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.trial import unittest

from buildbot.db import migrate
from buildbot.master import BuildMaster

CONFIG = """\
from buildbot.config.builder import BuilderConfig
from buildbot.process.factory import BuildFactory
from buildbot.schedulers.forcesched import ForceScheduler
from buildbot.worker import Worker

c = BuildmasterConfig = {}
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['protocols'] = {'pb': {'port': 'tcp:0:interface=127.0.0.1'}}
c['workers'] = [Worker('w', 'pw')]
c['builders'] = [
    BuilderConfig(name=n, workernames=['w'], factory=BuildFactory()) for n in ('a', 'b')
]
c['schedulers'] = [ForceScheduler('force', ['a', 'b'])]
"""


class ReactorProxy:
    """The global reactor, except that `stop` is only recorded."""

    def stop(self):
        pass

    def __getattr__(self, name):
        return getattr(global_reactor, name)


class MasterForceTest(unittest.TestCase):
    timeout = 60

    async def test_force_on_a_running_master(self):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        with open(os.path.join(basedir, "master.cfg"), "w") as f:
            f.write(textwrap.dedent(CONFIG))
        engine = sa.create_engine(f"sqlite:///{basedir}/state.sqlite")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()

        m = BuildMaster(basedir, reactor=ReactorProxy())
        await m.startService()

        async def stop():
            if m.running:
                await m.stopService()

        self.addCleanup(lambda: defer.ensureDeferred(stop()))

        sched = m.scheduler_manager.namedServices["force"]
        self.assertTrue(sched.running)
        # the first claim attempt runs in the background
        await sched._activityPoll()
        self.assertTrue(sched.isActive())
        [row] = await m.data.get(("schedulers",))
        self.assertEqual((row["name"], row["master"]["masterid"]), ("force", m.masterid))

        [fs] = await m.data.get(("forceschedulers",))
        self.assertEqual(fs["builder_names"], ["a", "b"])
        bsid, brids = await m.data.control(
            "force", {"owner": "me", "builderNames": ["b"]}, ("forceschedulers", "force")
        )
        [builder] = [b for b in await m.data.get(("builders",)) if b["name"] == "b"]
        self.assertEqual(list(brids), [builder["builderid"]])
        bs = await m.data.get(("buildsets", bsid))
        self.assertEqual(bs["reason"], "A build was forced by 'me': force build")
