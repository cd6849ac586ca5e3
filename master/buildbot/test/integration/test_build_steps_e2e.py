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
from typing import Any

from twisted.trial import unittest

from buildbot.process.results import CANCELLED, FAILURE, RETRY, SKIPPED, SUCCESS, WARNINGS
from buildbot.test.integration.test_worker_interop import _installed_worker
from buildbot.test.util.e2emaster import WORKER, RealMasterMixin, our_worker_bin

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


class BuildStepsE2EMixin(RealMasterMixin):
    """The tests; a subclass says which worker program runs (`worker_bin`)."""

    def master_cfg(self) -> str:
        self.release = os.path.join(self.basedir, "release")
        self.artifacts = os.path.join(self.basedir, "artifacts")
        self.download_src = os.path.join(self.basedir, "to-download.txt")
        with open(self.download_src, "w") as f:
            f.write("downloaded-content\n")
        # children waiting for the release file end with the test
        self.addCleanup(self._release)
        return MASTER_CFG.format(
            release=self.release,
            artifacts=self.artifacts,
            download_src=self.download_src,
            spans=os.path.join(self.basedir, "spans"),
            port=self.port,
        )

    def _release(self) -> None:
        with open(self.release, "w"):
            pass

    # ---- helpers ----------------------------------------------------------------

    async def force(self, builder: str) -> int:
        _, brids = await self.master.data.control(
            "force",
            {"builderNames": [builder], "reason": "e2e", "branch": "main"},
            ("forceschedulers", "force"),
        )
        (brid,) = brids.values()
        return brid

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
        return our_worker_bin()


class TestBuildbot43Worker(BuildStepsE2EMixin, unittest.TestCase):
    """The real buildbot-worker 4.3.0."""

    def worker_bin(self) -> str:
        return _installed_worker("BUILDBOT43_VENV", "the real buildbot-worker 4.3.0")
