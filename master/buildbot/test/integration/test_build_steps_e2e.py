"""Builds from a real master.cfg on a real BuildMaster, SQLite and a real worker program.

The master is `BuildMaster(basedir)` on the global reactor in the test process, its
master.cfg written by the test; the worker is a child process, either our own
`buildbot-worker` or the real buildbot-worker 4.3.0 (from the virtualenv that
`bash .ci/buildbot43-venv` makes, named by BUILDBOT43_VENV). Builds are forced through
`master.data.control` and checked through `master.data`: results, properties, logs.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer
from twisted.python import log
from twisted.trial import unittest

from buildbot import master as master_module
from buildbot.db import migrate
from buildbot.master import BuildMaster
from buildbot.process.results import CANCELLED, FAILURE, RETRY, SKIPPED, SUCCESS, WARNINGS
from buildbot.test.integration.test_worker_interop import _installed_worker
from buildbot.test.util import processes
from buildbot.test.util.processes import ChildProcess, ReactorProxy, free_port

WORKER, PASSWORD = "w1", "w1-secret"

MASTER_CFG = """\
import sys
from buildbot.plugins import schedulers, steps, util, worker

PY = sys.executable
RELEASE = {release!r}
ARTIFACTS = {artifacts!r}
DOWNLOAD_SRC = {download_src!r}
SPANS = {spans!r}

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret'), worker.Worker('ghost', 'ghost-secret')]
c['buildbotURL'] = 'http://localhost:8010/'

# waits for the test to create RELEASE (so that a build is running while the test acts)
WAIT = f'while [ ! -e {{RELEASE}} ]; do sleep 0.1; done; echo released'

shell = [
    steps.ShellCommand(
        name='interp',
        command=util.Interpolate(
            'echo "prop=%(prop:buildername)s kw=%(kw:who)s worker=%(worker:basedir)s '
            'src=%(src::branch)s env=$GREETING"',
            who='kw-value',
        ),
        env={{'GREETING': util.Interpolate('hi-%(prop:buildnumber)s')}},
    ),
    steps.ShellSequence(
        name='seq',
        commands=[
            util.ShellArg(command='echo first-of-seq', logname='one'),
            util.ShellArg(command=['echo', 'second-of-seq'], logname='two'),
        ],
    ),
    steps.SetPropertyFromCommand(name='fromcmd', command='echo from-command',
                                 property='cmdprop'),
    steps.SetProperty(name='setprop', property='sp',
                      value=util.Interpolate('%(prop:cmdprop)s-plus')),
    steps.SetProperties(name='setprops', properties={{'pa': 'A', 'pb': 2}}),
    steps.ShellCommand(name='useprops',
                       command=util.Interpolate('echo sp=%(prop:sp)s pa=%(prop:pa)s')),
    steps.MasterShellCommand(name='onmaster', command='echo on-the-master'),
    steps.WarningCountingShellCommand(
        name='warnings', warnOnWarnings=True,
        command="printf 'warning: one\\\\nok\\\\nwarning: two\\\\n'"),
    steps.Compile(name='compile', command="printf 'cc a.c\\\\n'"),
    steps.Test(name='test', command="echo tests passed"),
]

files = [
    steps.MakeDirectory(name='mkdir', dir='build/made'),
    steps.ShellCommand(name='write', command='echo payload > made/f.txt && echo two > made/g.txt'),
    steps.FileExists(name='exists', file='build/made/f.txt'),
    steps.CopyDirectory(name='copy', src='build/made', dest='build/copied'),
    steps.FileUpload(name='upload', workersrc='made/f.txt',
                     masterdest=ARTIFACTS + '/f.txt'),
    steps.DirectoryUpload(name='dirupload', workersrc='copied',
                          masterdest=ARTIFACTS + '/copied'),
    steps.FileDownload(name='download', mastersrc=DOWNLOAD_SRC, workerdest='dl.txt'),
    steps.StringDownload(util.Interpolate('string-for-%(prop:buildername)s'), name='strdl',
                         workerdest='str.txt'),
    steps.JSONPropertiesDownload(name='jsondl', workerdest='props.json'),
    steps.ShellCommand(name='show', command='cat dl.txt str.txt && cat props.json'),
    steps.RemoveDirectory(name='rmdir', dir='build/copied'),
    steps.ShellCommand(name='gone', command='test ! -e copied'),
]

flow = [
    steps.ShellCommand(name='skipped', command='echo never', doStepIf=False),
    steps.ShellCommand(name='fails', command='exit 3', haltOnFailure=True),
    steps.ShellCommand(name='after', command='echo not-run'),
    steps.ShellCommand(name='always', command='echo always-ran', alwaysRun=True),
]

parent = [
    steps.SetProperty(name='setp', property='given', value='from-parent'),
    steps.Trigger(name='trigger', schedulerNames=['trig'], waitForFinish=True,
                  set_properties={{'given': util.Property('given')}}),
]
child = [steps.ShellCommand(name='child', command=util.Interpolate('echo got=%(prop:given)s'))]

lock = util.MasterLock('one-at-a-time', maxCount=1)
# each build records when it held the lock, in one file shared by both builders
SPAN = f'echo start $(date +%s.%N) >> {{SPANS}}; sleep 1; echo end $(date +%s.%N) >> {{SPANS}}'
# lockA takes the lock for the whole build, lockB for its one step
lockedA = [steps.ShellCommand(name='locked', command=SPAN)]
lockedB = [steps.ShellCommand(name='locked', command=SPAN, locks=[lock.access('exclusive')])]

def factory(step_list):
    return util.BuildFactory(step_list)

c['builders'] = [
    util.BuilderConfig(name='shell', workernames=['w1'], factory=factory(shell)),
    util.BuilderConfig(name='files', workernames=['w1'], factory=factory(files)),
    util.BuilderConfig(name='flow', workernames=['w1'], factory=factory(flow)),
    util.BuilderConfig(name='parent', workernames=['w1'], factory=factory(parent)),
    util.BuilderConfig(name='child', workernames=['w1'], factory=factory(child)),
    util.BuilderConfig(name='lockA', workernames=['w1'], factory=factory(lockedA),
                       locks=[lock.access('exclusive')]),
    util.BuilderConfig(name='lockB', workernames=['w1'], factory=factory(lockedB)),
    util.BuilderConfig(name='slow', workernames=['w1'],
                       factory=factory([steps.ShellCommand(name='wait', command=WAIT)])),
    util.BuilderConfig(name='nowhere', workernames=['ghost'],
                       factory=factory([steps.ShellCommand(name='never', command='true')])),
]
c['schedulers'] = [
    schedulers.ForceScheduler(name='force', builderNames=[b.name for b in c['builders']]),
    schedulers.Triggerable(name='trig', builderNames=['child']),
]
"""


class BuildStepsE2EMixin:
    """The tests; a subclass says which worker program runs (`worker_bin`)."""

    timeout = 180

    def worker_bin(self) -> str:
        raise NotImplementedError

    # ---- set-up ---------------------------------------------------------------

    async def setUp(self) -> None:
        self.program = self.worker_bin()
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.release = os.path.join(self.basedir, "release")
        self.artifacts = os.path.join(self.basedir, "artifacts")
        self.download_src = os.path.join(self.basedir, "to-download.txt")
        with open(self.download_src, "w") as f:
            f.write("downloaded-content\n")
        # children waiting for the release file end with the test
        self.addCleanup(self._release)
        self.port = free_port()
        cfg = MASTER_CFG.format(
            release=self.release,
            artifacts=self.artifacts,
            download_src=self.download_src,
            spans=os.path.join(self.basedir, "spans"),
            port=self.port,
        )
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(cfg)
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()
        self.messages: list[str] = []
        log.addObserver(self._observe)
        self.addCleanup(log.removeObserver, self._observe)
        self.master = await self.start_master()
        self.worker_dir = os.path.join(self.basedir, "worker")
        await self.create_worker()
        await self.start_worker()
        await self.wait_for("the worker to connect", self._worker_connected)

    def _observe(self, event: dict[str, Any]) -> None:
        text = log.textFromEventDict(event)
        if text:
            self.messages.append(text)

    def _release(self) -> None:
        with open(self.release, "w"):
            pass

    async def start_master(self) -> BuildMaster:
        self.messages = []
        m = BuildMaster(self.basedir, reactor=ReactorProxy())
        m._exit_nonzero = lambda: None  # type: ignore[method-assign]
        await m.startService()

        async def stop() -> None:
            if m.running:
                await m.stopService()

        self.addCleanup(lambda: defer.ensureDeferred(stop()))
        if master_module.RUNNING not in self.messages:
            self.fail("the master did not start:\n" + "\n".join(self.messages[-40:]))
        return m

    def child_env(self) -> dict[str, str]:
        return processes.child_env(os.path.dirname(sys.executable))

    async def create_worker(self) -> None:
        argv = [self.program, "create-worker", "-q", self.worker_dir,
                f"127.0.0.1:{self.port}", WORKER, PASSWORD]  # fmt: skip
        await processes.run_program(self, argv, self.child_env(), self.basedir)

    async def start_worker(self) -> None:
        self.child, self.transport = processes.start_worker(
            self.program, self.worker_dir, self.child_env()
        )
        self.addCleanup(self.kill_worker, self.child, self.transport)

    async def kill_worker(self, child: ChildProcess | None = None, transport: Any = None) -> None:
        await processes.kill_worker(child or self.child, transport or self.transport)

    async def _worker_connected(self) -> bool:
        w = self.master.workers.workers.get(WORKER)
        return bool(w is not None and w.conn is not None)

    async def wait_for(self, what: str, check: Any, limit: float = 60) -> Any:
        return await processes.wait_for(self, what, check, limit, details=self._failure_details)

    def _failure_details(self) -> str:
        return f"worker: {bytes(self.child.output[-2000:])!r}\nmaster:\n" + "\n".join(
            self.messages[-40:]
        )

    # ---- helpers ----------------------------------------------------------------

    async def force(self, builder: str) -> int:
        _, brids = await self.master.data.control(
            "force",
            {"builderNames": [builder], "reason": "e2e", "branch": "main"},
            ("forceschedulers", "force"),
        )
        (brid,) = brids.values()
        return brid

    async def builds_of(self, brid: int) -> list[dict[str, Any]]:
        return list(await self.master.data.get(("buildrequests", brid, "builds")))

    async def finished_request(self, brid: int, limit: float = 60) -> dict[str, Any]:
        async def done() -> Any:
            br = await self.master.data.get(("buildrequests", brid))
            return br if br["complete"] else None

        return await self.wait_for(f"build request {brid} to complete", done, limit)

    async def run_build(self, builder: str) -> dict[str, Any]:
        brid = await self.force(builder)
        await self.finished_request(brid)
        builds = await self.builds_of(brid)
        self.assertEqual(len(builds), 1, builds)
        return builds[0]

    async def running_build(self, brid: int) -> dict[str, Any]:
        async def started() -> Any:
            builds = await self.builds_of(brid)
            if not builds:
                return None
            steps = await self.master.data.get(("builds", builds[0]["buildid"], "steps"))
            running = [s for s in steps if s["name"] == "wait" and s["started_at"]]
            return builds[0] if running else None

        return await self.wait_for("the build to run its step", started)

    async def steps(self, build: dict[str, Any]) -> dict[str, dict[str, Any]]:
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        return {s["name"]: s for s in steps}

    async def props(self, build: dict[str, Any]) -> dict[str, Any]:
        props = await self.master.data.get(("builds", build["buildid"], "properties"))
        return {k: v for k, (v, _) in props.items()}

    async def log_text(self, step: dict[str, Any], name: str = "stdio") -> str:
        logs = await self.master.data.get(("steps", step["stepid"], "logs"))
        (lg,) = [lg for lg in logs if lg["name"] == name] or [None]
        self.assertIsNotNone(lg, f"no log {name!r} in step {step['name']!r}: {logs}")
        got = await self.master.data.get(("logs", lg["logid"], "contents"))
        return got["content"]

    def results_of(self, steps: dict[str, dict[str, Any]]) -> dict[str, int]:
        return {name: s["results"] for name, s in steps.items()}

    # ---- the steps -------------------------------------------------------------

    async def test_shell_and_property_steps(self) -> None:
        build = await self.run_build("shell")
        steps = await self.steps(build)
        self.assertEqual(
            self.results_of(steps),
            {
                "worker_preparation": SUCCESS,
                "interp": SUCCESS,
                "seq": SUCCESS,
                "fromcmd": SUCCESS,
                "setprop": SUCCESS,
                "setprops": SUCCESS,
                "useprops": SUCCESS,
                "onmaster": SUCCESS,
                "warnings": WARNINGS,
                "compile": SUCCESS,
                "test": SUCCESS,
            },
        )
        self.assertEqual(build["results"], WARNINGS)
        text = await self.log_text(steps["interp"])
        self.assertIn(f"prop=shell kw=kw-value worker={self.worker_dir} src=main env=hi-", text)
        self.assertIn("GREETING", text)  # the environment is in the header
        self.assertIn("first-of-seq", await self.log_text(steps["seq"], "one"))
        self.assertIn("second-of-seq", await self.log_text(steps["seq"], "two"))
        self.assertIn("sp=from-command-plus pa=A", await self.log_text(steps["useprops"]))
        self.assertIn("on-the-master", await self.log_text(steps["onmaster"]))
        warnings = await self.log_text(steps["warnings"], "warnings (2)")
        self.assertIn("warning: one", warnings)
        props = await self.props(build)
        self.assertEqual(props["cmdprop"], "from-command")
        self.assertEqual(props["sp"], "from-command-plus")
        self.assertEqual((props["pa"], props["pb"]), ("A", 2))
        self.assertEqual(props["warnings-count"], 2)
        self.assertEqual(props["branch"], "main")
        self.assertEqual(props["workername"], WORKER)

    async def test_transfer_and_directory_steps(self) -> None:
        build = await self.run_build("files")
        steps = await self.steps(build)
        self.assertEqual(set(self.results_of(steps).values()), {SUCCESS}, steps)
        self.assertEqual(build["results"], SUCCESS)
        with open(os.path.join(self.artifacts, "f.txt")) as f:
            self.assertEqual(f.read(), "payload\n")
        with open(os.path.join(self.artifacts, "copied", "g.txt")) as f:
            self.assertEqual(f.read(), "two\n")
        text = await self.log_text(steps["show"])
        self.assertIn("downloaded-content", text)
        self.assertIn("string-for-files", text)
        workdir = os.path.join(self.worker_dir, "files", "build")
        with open(os.path.join(workdir, "props.json")) as f:
            sent = json.load(f)
        self.assertEqual(sent["properties"]["buildername"], "files")
        self.assertFalse(os.path.exists(os.path.join(workdir, "copied")))
        self.assertTrue(os.path.exists(os.path.join(workdir, "made", "f.txt")))

    async def test_doStepIf_haltOnFailure_alwaysRun(self) -> None:
        build = await self.run_build("flow")
        steps = await self.steps(build)
        self.assertEqual(build["results"], FAILURE)
        self.assertEqual(steps["skipped"]["results"], SKIPPED)
        self.assertEqual(steps["fails"]["results"], FAILURE)
        self.assertEqual(steps["always"]["results"], SUCCESS)
        self.assertIn("always-ran", await self.log_text(steps["always"]))
        # halted: the plain step after the failure never ran
        self.assertTrue("after" not in steps or steps["after"]["started_at"] is None)

    async def test_trigger_and_triggerable(self) -> None:
        build = await self.run_build("parent")
        steps = await self.steps(build)
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(steps["trigger"]["results"], SUCCESS)
        children = await self.master.data.get(("builders", "child", "builds"))
        self.assertEqual(len(children), 1)
        (child,) = children
        self.assertEqual(child["results"], SUCCESS)
        child_steps = await self.steps(child)
        self.assertIn("got=from-parent", await self.log_text(child_steps["child"]))
        buildset = await self.master.data.get(
            ("buildsets", (await self._buildset_of(child))["bsid"])
        )
        self.assertEqual(buildset["parent_buildid"], build["buildid"])

    async def _buildset_of(self, build: dict[str, Any]) -> dict[str, Any]:
        br = await self.master.data.get(("buildrequests", build["buildrequestid"]))
        return await self.master.data.get(("buildsets", br["buildsetid"]))

    async def test_master_lock_serialises_builds(self) -> None:
        brids = [await self.force("lockA"), await self.force("lockB")]
        for brid in brids:
            br = await self.finished_request(brid)
            self.assertEqual(br["results"], SUCCESS)
        with open(os.path.join(self.basedir, "spans")) as f:
            events = [line.split()[0] for line in f if line.strip()]
        # one holder at a time: start, end, start, end
        self.assertEqual(events, ["start", "end", "start", "end"])

    # ---- control ----------------------------------------------------------------

    async def test_stop_a_running_build(self) -> None:
        brid = await self.force("slow")
        build = await self.running_build(brid)
        await self.master.data.control("stop", {"reason": "enough"}, ("builds", build["buildid"]))
        br = await self.finished_request(brid)
        (build,) = await self.builds_of(brid)
        self.assertEqual(build["results"], CANCELLED)
        self.assertEqual(br["results"], CANCELLED)

    async def test_rebuild_a_finished_build(self) -> None:
        build = await self.run_build("flow")
        old_bs = await self._buildset_of(build)
        bsid, brids = await self.master.data.control("rebuild", {}, ("builds", build["buildid"]))
        self.assertNotEqual(bsid, old_bs["bsid"])
        (brid,) = brids.values()
        br = await self.finished_request(brid)
        self.assertEqual(br["buildsetid"], bsid)
        (again,) = await self.builds_of(brid)
        self.assertEqual(again["results"], FAILURE)
        self.assertEqual(again["builderid"], build["builderid"])

    async def test_cancel_a_pending_request(self) -> None:
        brid = await self.force("nowhere")
        br = await self.master.data.get(("buildrequests", brid))
        self.assertFalse(br["complete"])
        await self.master.data.control("cancel", {"reason": "no"}, ("buildrequests", brid))
        br = await self.finished_request(brid)
        self.assertEqual(br["results"], CANCELLED)
        self.assertEqual(await self.builds_of(brid), [])

    # ---- failures ----------------------------------------------------------------

    async def test_worker_lost_mid_build_retries(self) -> None:
        brid = await self.force("slow")
        await self.running_build(brid)
        await self.kill_worker()

        async def retried() -> Any:
            builds = await self.builds_of(brid)
            return builds if builds and builds[0]["results"] == RETRY else None

        await self.wait_for("the build to end RETRY", retried)
        br = await self.master.data.get(("buildrequests", brid))
        self.assertFalse(br["complete"])
        self._release()
        await self.start_worker()
        br = await self.finished_request(brid)
        self.assertEqual(br["results"], SUCCESS)
        builds = await self.builds_of(brid)
        self.assertEqual([b["results"] for b in builds], [RETRY, SUCCESS])

    async def test_recovery_after_a_master_restart(self) -> None:
        # the stopping master ends the running build as RETRY and gives its request back;
        # the next master runs it
        brid = await self.force("slow")
        await self.running_build(brid)
        await self.master.stopService()
        self._release()
        self.master = await self.start_master()
        await self.wait_for("the worker to reconnect", self._worker_connected)
        br = await self.finished_request(brid)
        self.assertEqual(br["results"], SUCCESS)
        builds = await self.builds_of(brid)
        self.assertEqual(builds[-1]["results"], SUCCESS)
        self.assertTrue(all(b["complete"] for b in builds), builds)


class TestOurWorker(BuildStepsE2EMixin, unittest.TestCase):
    """Our own buildbot-worker, installed beside this master."""

    def worker_bin(self) -> str:
        return os.path.join(os.path.dirname(sys.executable), "buildbot-worker")


class TestBuildbot43Worker(BuildStepsE2EMixin, unittest.TestCase):
    """The real buildbot-worker 4.3.0."""

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")
