"""A real BuildMaster on SQLite with a ForceScheduler in master.cfg: the scheduler
runs, claims its row, and `force` through the data API makes a buildset; with
in-process workers, the forced build runs with the form's properties."""

import os
import textwrap

import sqlalchemy as sa
from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.trial import unittest

from buildbot.db import migrate
from buildbot.master import BuildMaster
from buildbot.process.results import SUCCESS
from buildbot.test.util import processes

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

# two in-process workers; the builder runs where the form says
PARAMS_CONFIG = """\
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {}
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['protocols'] = {'null': {}}
c['workers'] = [worker.LocalWorker('lw1'), worker.LocalWorker('lw2')]
factory = util.BuildFactory([
    steps.SetProperty(property='seen', value=util.Interpolate('%(prop:deploy)s')),
])
c['builders'] = [
    util.BuilderConfig(name='deployer', workernames=['lw1', 'lw2'], factory=factory,
                       canStartBuild=util.enforceChosenWorker),
]
c['schedulers'] = [
    schedulers.ForceScheduler(
        'force', ['deployer'],
        properties=[
            util.NestedParameter('deploy', [
                util.StringParameter('target', required=True),
                util.IntParameter('replicas', default=1),
                util.NestedParameter('opts', [util.BooleanParameter('dry')]),
            ]),
            util.WorkerChoiceParameter(),
        ],
        codebases=[util.CodebaseParameter('', patch=util.PatchParameter())],
    ),
]
"""


class ReactorProxy:
    """The global reactor, except that `stop` is only recorded."""

    def stop(self):
        pass

    def __getattr__(self, name):
        return getattr(global_reactor, name)


class MasterForceTest(unittest.TestCase):
    timeout = 60

    async def start_master(self, cfg):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        with open(os.path.join(basedir, "master.cfg"), "w") as f:
            f.write(textwrap.dedent(cfg))
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
        return m

    async def test_force_on_a_running_master(self):
        m = await self.start_master(CONFIG)

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

    async def test_forced_build_gets_nested_properties_on_the_chosen_worker(self):
        m = await self.start_master(PARAMS_CONFIG)
        [fs] = await m.data.get(("forceschedulers",))
        deploy = fs["all_fields"][2]
        self.assertEqual(
            [f["fullName"] for f in deploy["fields"]],
            ["deploy_target", "deploy_replicas", "deploy_opts"],
        )
        self.assertEqual(deploy["fields"][2]["fields"][0]["fullName"], "deploy_opts_dry")

        # the form's errors, all at once, through the control
        from buildbot.schedulers.forcesched import ValidationError

        with self.assertRaises(ValidationError) as cm:
            await m.data.control(
                "force", {"owner": "me", "deploy_replicas": "many"}, ("forceschedulers", "force")
            )
        self.assertEqual(sorted(cm.exception.errors), ["deploy_replicas", "deploy_target"])

        for worker in ("lw1", "lw2"):
            await processes.wait_for(
                self, f"{worker} to attach", lambda w=worker: m.workers.workers[w].conn, 30
            )
        # several builds, so that a worker picked at random would show
        for chosen in ("lw2", "lw1", "lw2"):
            build, br = await self.force_on(m, chosen)
            worker = await m.data.get(("workers", build["workerid"]))
            self.assertEqual(worker["name"], chosen)
        props = await m.data.get(("builds", build["buildid"], "properties"))
        expected = {"target": "prod", "replicas": 3, "opts": {"dry": True}}
        self.assertEqual(props["deploy"], (expected, "Force Build Form"))
        # the build's own workername property (source "Worker") replaces the form's
        self.assertEqual(props["workername"][0], "lw2")
        self.assertEqual(props["owner"], ("me", "Force Build Form"))
        # a step rendered the nested property
        self.assertIn("'target': 'prod'", props["seen"][0])
        bs_props = await m.data.get(("buildsets", br["buildsetid"], "properties"))
        self.assertEqual(bs_props["workername"], ("lw2", "Force Build Form"))
        bs = await m.data.get(("buildsets", br["buildsetid"]))
        [ss] = bs["sourcestamps"]
        self.assertEqual((ss["branch"], ss["patch"]["level"]), ("main", 1))

    async def force_on(self, m, workername):
        _, brids = await m.data.control(
            "force",
            {
                "owner": "me",
                "deploy_target": "prod",
                "deploy_replicas": ["3"],
                "deploy_opts_dry": True,
                "workername": workername,
                "branch": "main",
                "patch_body": "--- a\n+++ b\n",
            },
            ("forceschedulers", "force"),
        )
        [brid] = brids.values()

        async def finished():
            br = await m.data.get(("buildrequests", brid))
            return br if br["complete"] else None

        br = await processes.wait_for(self, "the forced build", finished, 30)
        self.assertEqual(br["results"], SUCCESS)
        [build] = await m.data.get(("buildrequests", brid, "builds"))
        return build, br
