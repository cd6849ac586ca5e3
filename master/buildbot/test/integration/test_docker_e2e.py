"""DockerLatentWorker against a real Docker engine (started by `.ci/docker-engine`).

A real BuildMaster in the test process; each build's worker is our buildbot-worker
running in a container of `ci-worker-base` (a debootstrap image with python3), with
our worker, its dependencies and pkg/docker/worker/start-worker.sh bind-mounted.
Host networking only. The tests skip when no engine answers.
"""

from __future__ import annotations

import json
import os
import sysconfig
import time
from typing import Any

import sqlalchemy as sa
import treq
from twisted.internet import defer, reactor, threads
from twisted.python import log
from twisted.trial import unittest
from twisted.web.client import HTTPConnectionPool

from buildbot import master as master_module
from buildbot.db import migrate
from buildbot.master import BuildMaster
from buildbot.process.results import CANCELLED, RETRY, SUCCESS
from buildbot.test.util import processes
from buildbot.test.util.db import _in_ci
from buildbot.test.util.processes import ReactorProxy, free_port

try:
    import docker
except ImportError:  # pragma: no cover
    docker = None

IMAGE = "ci-worker-base"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))
WORKER_SRC = os.path.join(ROOT, "worker")
START_SCRIPT_DIR = os.path.join(ROOT, "pkg", "docker", "worker")
SITE = sysconfig.get_paths()["purelib"]


def docker_host() -> str | None:
    host = os.environ.get("BUILDBOT_TEST_DOCKER_HOST")
    if host:
        return host
    env_file = os.path.join(ROOT, "build", "docker-engine.env")
    if os.path.exists(env_file):
        with open(env_file) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key == "BUILDBOT_TEST_DOCKER_HOST":
                    return value
    return None


def skip_reason() -> str | None:
    if docker is None:
        return "the docker package is not installed"
    host = docker_host()
    if host is None:
        return "no Docker engine: run .ci/docker-engine start (sets BUILDBOT_TEST_DOCKER_HOST)"
    try:
        client = docker.APIClient(base_url=host, timeout=5)
        client.ping()
        if not client.images(name=IMAGE):
            return f"the Docker engine at {host} has no image {IMAGE!r} (.ci/docker-engine start)"
    except Exception as e:
        return f"the Docker engine at {host} does not answer: {e}"
    return None


MASTER_CFG = """
from buildbot.plugins import schedulers, steps, util, worker
c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['buildbotNetUsageData'] = None
c['title'] = 'docker e2e'
c['buildbotURL'] = 'http://127.0.0.1:{www_port}/'
c['www'] = {{'port': 'tcp:{www_port}:interface=127.0.0.1'}}
command = ['sh', '-c', 'PYTHONPATH={worker_src}:{site} exec sh /pkgdocker/start-worker.sh']
c['workers'] = [worker.DockerLatentWorker(
    'dw', None, docker_host={docker_host!r}, image={image!r}, command=command,
    volumes=['{site}:{site}:ro', '{worker_src}:{worker_src}:ro',
             '{start_dir}:/pkgdocker:ro'],
    masterFQDN='127.0.0.1', hostconfig={{'network_mode': 'host'}},
    build_wait_timeout={build_wait_timeout}, max_builds={max_builds},
    missing_timeout=60, check_instance_interval=0.5)]
def f(sleep):
    return util.BuildFactory([steps.ShellCommand(
        name='in-container',
        command='test -f /.dockerenv && echo in-$(cat /proc/1/cpuset) && sleep ' + str(sleep))])
c['builders'] = [
    util.BuilderConfig(name='b1', workernames=['dw'], factory=f({sleep})),
    util.BuilderConfig(name='b2', workernames=['dw'], factory=f({sleep})),
]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['b1', 'b2'])]
"""


class DockerLatentE2E(unittest.TestCase):
    timeout = 240

    def setUp(self) -> None:
        why = skip_reason()
        if why is not None:
            if _in_ci():
                # in CI the engine is part of `make test`: its absence is a failure
                raise RuntimeError(why)
            raise unittest.SkipTest(why)
        self.host = docker_host()
        self.client = docker.APIClient(base_url=self.host, timeout=60)
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.port = free_port()
        self.www_port = free_port()
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        with engine.begin() as conn:
            migrate.thd_create_tables(conn)
        engine.dispose()
        self.messages: list[str] = []
        self.master_label: str | None = None
        # (time.monotonic(), routing key, message) of the build and worker events
        self.events: list[tuple[float, tuple[str, ...], dict[str, Any]]] = []
        log.addObserver(self._observe)
        self.addCleanup(log.removeObserver, self._observe)
        self.addCleanup(self._remove_containers)

    def _observe(self, event: dict[str, Any]) -> None:
        text = log.textFromEventDict(event)
        if text:
            self.messages.append(text)

    def write_cfg(self, image: str = IMAGE, build_wait_timeout: float = 0, max_builds: int = 1,
                  sleep: float = 0, command: str | None = None) -> None:  # fmt: skip
        text = MASTER_CFG.format(
            port=self.port, www_port=self.www_port, worker_src=WORKER_SRC, site=SITE,
            docker_host=self.host,
            image=image, start_dir=START_SCRIPT_DIR, build_wait_timeout=build_wait_timeout,
            max_builds=max_builds, sleep=sleep,
        )  # fmt: skip
        if command is not None:
            text = text.replace("command=command,", f"command={command!r},")
        with open(os.path.join(self.basedir, "master.cfg"), "w") as f:
            f.write(text)

    async def start_master(self) -> BuildMaster:
        m = BuildMaster(self.basedir, reactor=ReactorProxy())
        m._exit_nonzero = lambda: None  # type: ignore[method-assign]
        await m.startService()

        async def stop() -> None:
            if m.running:
                await m.stopService()

        self.addCleanup(lambda: defer.ensureDeferred(stop()))
        if master_module.RUNNING not in self.messages:
            self.fail("the master did not start:\n" + "\n".join(self.messages[-40:]))
        self.master = m

        def record(key: tuple[str, ...], msg: dict[str, Any]) -> None:
            self.events.append((time.monotonic(), key, dict(msg)))

        for pattern in [("builds", None, None), ("workers", None, "state_updated")]:
            consumer = await m.mq.startConsuming(record, pattern)
            self.addCleanup(consumer.stopConsuming)
        self.master_label = self.worker().master_label()
        return m

    def worker(self) -> Any:
        return self.master.workers.getWorkerByName("dw")

    def labelled(self) -> list[dict[str, Any]]:
        # tests run in parallel: only this test's master's containers
        if self.master_label is None:
            return []
        labels = ["buildbot.worker=dw", f"buildbot.master={self.master_label}"]
        return self.client.containers(all=True, filters={"label": labels})

    def _remove_containers(self) -> None:
        for c in self.labelled():
            self.client.remove_container(c["Id"], force=True)

    async def containers(self) -> list[dict[str, Any]]:
        return await threads.deferToThread(self.labelled)

    async def wait_for(self, what: str, check: Any, limit: float = 60) -> Any:
        return await processes.wait_for(
            self, what, check, limit, details=lambda: "\n".join(self.messages[-60:])
        )

    async def request(self, builder: str = "b1") -> int:
        builderid = await self.master.botmaster.builders[builder].getBuilderId()
        _, brids = await self.master.data.updates.addBuildset(
            waited_for=False,
            scheduler="force",
            reason="docker e2e",
            sourcestamps=[{"codebase": "", "branch": None, "repository": "", "project": ""}],
            properties={},
            builderids=[builderid],
        )
        return brids[builderid]

    async def builds_of(self, brid: int) -> list[dict[str, Any]]:
        return list(await self.master.data.get(("buildrequests", brid, "builds")))

    async def finished(self, brid: int, limit: float = 90) -> dict[str, Any]:
        async def done() -> Any:
            br = await self.master.data.get(("buildrequests", brid))
            return br if br["complete"] else None

        await self.wait_for(f"build request {brid}", done, limit)
        builds = await self.builds_of(brid)
        return builds[-1]

    async def step_log(self, build: dict[str, Any], step_name: str, log_name: str) -> str:
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        (step,) = [s for s in steps if s["name"] == step_name]
        logs = await self.master.data.get(("steps", step["stepid"], "logs"))
        (lg,) = [lg for lg in logs if lg["name"] == log_name]
        got = await self.master.data.get(("logs", lg["logid"], "contents"))
        return got["content"]

    async def rest(self, path: str) -> Any:
        res = await treq.get(f"http://127.0.0.1:{self.www_port}/api/v2/{path}", pool=self.pool)
        body = json.loads(await treq.content(res))
        self.assertEqual(res.code, 200, body)
        return body

    async def rpc(self, path: str, method: str, **params: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        res = await treq.post(
            f"http://127.0.0.1:{self.www_port}/api/v2/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            pool=self.pool,
        )
        reply = json.loads(await treq.content(res))
        self.assertEqual(res.code, 200, reply)
        return reply["result"]

    def build_events(self, buildid: int) -> list[tuple[str, str, bool]]:
        """(event, state string, complete) of the build, in order."""
        return [
            (key[-1], msg["state_string"], msg["complete"])
            for _, key, msg in self.events
            if key[:2] == ("builds", str(buildid))
        ]

    def build_event_time(self, buildid: int, event: str, state: str | None = None) -> float:
        return next(
            t
            for t, key, msg in self.events
            if key == ("builds", str(buildid), event)
            and (state is None or msg["state_string"] == state)
        )

    def latent_states(self) -> list[str]:
        """The `latent_state`s the worker's state_updated events carried, each once."""
        states: list[str] = []
        for _, key, msg in self.events:
            if key[0] == "workers" and "latent_state" in msg:
                if not states or states[-1] != msg["latent_state"]:
                    states.append(msg["latent_state"])
        return states

    async def assert_failed_start(self, build: dict[str, Any], *why: str) -> None:
        """One build for the try: created at once, its worker_preparation step (its
        only one) RETRY with the reason in err.text and the state string."""
        self.assertEqual(build["results"], RETRY)
        events = self.build_events(build["buildid"])
        self.assertEqual(events[0][::2], ("new", False), events)
        self.assertIn(("update", "preparing worker", False), events)
        self.assertEqual(events[-1][0], "finished")
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        self.assertEqual(
            [(s["name"], s["results"]) for s in steps], [("worker_preparation", RETRY)]
        )
        text = await self.step_log(build, "worker_preparation", "err.text")
        for w in why:
            self.assertIn(w, build["state_string"])
            self.assertIn(w, text)

    async def no_containers(self, what: str) -> None:
        async def none_left() -> bool:
            return not await self.containers()

        await self.wait_for(what, none_left, 30)

    # --- the tests ------------------------------------------------------------------------

    async def test_build_runs_in_a_fresh_container_which_is_gone_afterwards(self) -> None:
        self.write_cfg(build_wait_timeout=0)
        await self.start_master()
        created = []
        timings = []
        hostnames = []
        for _ in range(3):
            t0 = time.monotonic()
            brid = await self.request()
            build = await self.finished(brid)
            # measured on the build's events: `new`, then the update to "building"
            created.append(self.build_event_time(build["buildid"], "new") - t0)
            timings.append(self.build_event_time(build["buildid"], "update", "building") - t0)
            events = self.build_events(build["buildid"])
            # created at once, then waiting in worker_preparation, then running
            self.assertEqual(events[0][::2], ("new", False))
            self.assertEqual(
                [e for e in events if e[0] == "update"][:2],
                [("update", "preparing worker", False), ("update", "building", False)],
            )
            self.assertEqual(build["results"], SUCCESS, build["state_string"])
            out = await self.step_log(build, "in-container", "stdio")
            hostnames.append([ln for ln in out.splitlines() if "in-/" in ln][0])
            await self.no_containers("the container to be removed after the build")
        # each build in its own container
        self.assertEqual(len(set(hostnames)), 3, hostnames)
        print(
            "\nDocker latent worker: build request -> build created: "
            + ", ".join(f"{t:.3f} s" for t in created)
            + "; -> its steps start (container up, worker logged in): "
            + ", ".join(f"{t:.2f} s" for t in timings)
            + f" (median {sorted(timings)[1]:.2f} s)"
        )

    async def test_two_builds_at_once_under_max_builds(self) -> None:
        self.write_cfg(build_wait_timeout=0, max_builds=2, sleep=3)
        await self.start_master()
        brids = [await self.request("b1"), await self.request("b2")]

        async def both_running() -> bool:
            builds = [b for brid in brids for b in await self.builds_of(brid)]
            return len(builds) == 2 and all(b["state_string"] == "building" for b in builds)

        await self.wait_for("both builds to run at once", both_running, 60)
        self.assertEqual(len(await self.containers()), 1)
        for brid in brids:
            build = await self.finished(brid)
            self.assertEqual(build["results"], SUCCESS)
        await self.no_containers("the container to be removed")

    async def test_idle_timeout(self) -> None:
        self.write_cfg(build_wait_timeout=3)
        await self.start_master()
        build = await self.finished(await self.request())
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(len(await self.containers()), 1)
        # a second build reuses the running container
        build2 = await self.finished(await self.request())
        self.assertEqual(build2["results"], SUCCESS)
        self.assertEqual(len(await self.containers()), 1)
        t0 = time.monotonic()
        await self.no_containers("the idle container to stop")
        self.assertGreater(time.monotonic() - t0, 1.5)
        self.assertEqual(self.worker().state.value, "not substantiated")

    async def test_missing_image_fails_the_build_clearly(self) -> None:
        self.write_cfg(image="no-such-image:42")
        await self.start_master()
        brid = await self.request()

        async def failed_build() -> Any:
            builds = await self.builds_of(brid)
            return builds[0] if builds and builds[0]["complete"] else None

        build = await self.wait_for("the failed start", failed_build)
        await self.assert_failed_start(build, "image 'no-such-image:42' not found")
        self.assertEqual(len(await self.builds_of(brid)), 1)
        self.assertEqual(await self.containers(), [])
        # the request waits for a later try (the worker is in quarantine)
        br = await self.master.data.get(("buildrequests", brid))
        self.assertEqual((br["claimed"], br["complete"]), (False, False))
        self.assertIn("quarantine", self.worker().state_string)

    async def test_container_exiting_during_start_fails_cleanly_and_is_retried(self) -> None:
        self.write_cfg(command="sh -c 'echo boom-at-start; exit 3'")
        await self.start_master()
        self.worker().quarantine_initial_timeout = 1
        brid = await self.request()

        async def two_failed() -> Any:
            builds = [b for b in await self.builds_of(brid) if b["complete"]]
            return builds if len(builds) >= 2 else None

        builds = await self.wait_for("the start to fail and be retried", two_failed, 60)
        # one build per try, on the same request
        self.assertEqual({b["buildrequestid"] for b in builds}, {brid})
        for build in builds:
            await self.assert_failed_start(build, "exited with code 3")
        text = await self.step_log(builds[0], "worker_preparation", "err.text")
        self.assertIn("boom-at-start", text)
        await self.no_containers("the exited containers to be removed")
        br = await self.master.data.get(("buildrequests", brid))
        self.assertFalse(br["complete"])

    async def test_restarted_master_removes_leftover_containers(self) -> None:
        self.write_cfg(build_wait_timeout=-1)
        await self.start_master()
        labels = self.worker().labels()
        await self.master.stopService()
        # what a master killed with its worker up leaves behind
        c = self.client.create_container(IMAGE, "sleep 600", labels=labels,
                                         host_config=self.client.create_host_config(
                                             network_mode="host"))  # fmt: skip
        self.client.start(c["Id"])
        self.assertEqual(len(await self.containers()), 1)
        self.messages = []
        await self.start_master()
        await self.no_containers("the leftover container to be removed")
        self.assertTrue(any("leftover" in m for m in self.messages))

    async def test_build_requested_while_the_container_stops_still_runs(self) -> None:
        self.write_cfg(build_wait_timeout=0)
        await self.start_master()
        brid1 = await self.request()
        # the second request arrives while the first build's container is stopping
        w = self.worker()

        async def stopping() -> bool:
            return w.state.value == "insubstantiating"

        await self.wait_for("the container to be stopping", stopping, 90)
        brid2 = await self.request()
        b1 = await self.finished(brid1)
        b2 = await self.finished(brid2)
        self.assertEqual((b1["results"], b2["results"]), (SUCCESS, SUCCESS))
        await self.no_containers("the containers to be removed")

    async def test_master_stops_within_seconds_with_workers_up(self) -> None:
        self.write_cfg(build_wait_timeout=-1)
        await self.start_master()
        build = await self.finished(await self.request())
        self.assertEqual(build["results"], SUCCESS)
        self.assertEqual(len(await self.containers()), 1)
        t0 = time.monotonic()
        await self.master.stopService()
        took = time.monotonic() - t0
        print(f"\nmaster stop with a Docker latent worker up: {took:.2f} s")
        self.assertLess(took, 10)
        self.assertEqual(await self.containers(), [])

    async def test_buildbot_stop_returns_within_seconds_with_workers_up(self) -> None:
        # the command line, as a user runs it: a daemon started by `buildbot start`,
        # a build whose container stays up (no idle timeout), then `buildbot stop`
        import hashlib
        import subprocess
        import sys

        bindir = os.path.dirname(sys.executable)
        basedir = os.path.join(self.basedir, "cli")
        os.makedirs(basedir)

        def cli(*args: str) -> subprocess.CompletedProcess:
            argv = [os.path.join(bindir, "buildbot"), *args]
            return subprocess.run(argv, capture_output=True, text=True, timeout=120)

        created = await threads.deferToThread(cli, "create-master", "-q", basedir)
        self.assertEqual(created.returncode, 0, created.stderr)
        self.write_cfg(build_wait_timeout=-1)
        os.replace(os.path.join(self.basedir, "master.cfg"), os.path.join(basedir, "master.cfg"))
        started = await threads.deferToThread(cli, "start", basedir)

        def kill_leftover() -> None:
            try:
                with open(os.path.join(basedir, "twistd.pid")) as f:
                    os.kill(int(f.read().strip()), 9)
            except (OSError, ValueError):
                pass

        self.addCleanup(kill_leftover)
        self.assertEqual(started.returncode, 0, started.stdout + started.stderr)
        (m,) = (await self.rest("masters"))["masters"]
        self.master_label = hashlib.sha1(m["name"].encode()).hexdigest()[:16]
        _, brids = await self.rpc("forceschedulers/force", "force", builderNames=["b1"])
        (brid,) = brids.values()

        async def complete() -> Any:
            (br,) = (await self.rest(f"buildrequests/{brid}"))["buildrequests"]
            return br if br["complete"] else None

        br = await self.wait_for("the build", complete, 120)
        self.assertEqual(br["results"], SUCCESS)
        self.assertEqual(len(await self.containers()), 1)
        t0 = time.monotonic()
        stopped = await threads.deferToThread(cli, "stop", basedir)
        took = time.monotonic() - t0
        print(f"\n`buildbot stop` with a Docker latent worker up: {took:.2f} s")
        self.assertEqual(stopped.returncode, 0, stopped.stdout + stopped.stderr)
        self.assertLess(took, 15)
        self.assertFalse(os.path.exists(os.path.join(basedir, "twistd.pid")))
        self.assertEqual(await self.containers(), [])

    async def test_stop_while_the_worker_starts(self) -> None:
        # a container that never starts the worker: the build waits in its
        # worker_preparation step until it is stopped (JSON-RPC `stop`)
        self.write_cfg(command="sh -c 'sleep 120'")
        await self.start_master()
        brid = await self.request()

        async def waiting() -> Any:
            builds = await self.builds_of(brid)
            if builds and builds[0]["state_string"] == "preparing worker":
                return builds[0] if await self.containers() else None
            return None

        build = await self.wait_for("the build to wait for its container", waiting)
        entity = (await self.rest("workers/dw"))["workers"][0]
        self.assertEqual(entity["latent_state"], "substantiating")
        await self.rpc(f"builds/{build['buildid']}", "stop", reason="not now")
        build = await self.finished(brid, 30)
        self.assertEqual(build["results"], CANCELLED)
        steps = await self.master.data.get(("builds", build["buildid"], "steps"))
        self.assertEqual(
            [(s["name"], s["results"]) for s in steps], [("worker_preparation", CANCELLED)]
        )
        self.assertEqual(len(await self.builds_of(brid)), 1)
        await self.no_containers("the container to be removed after the stop")

        async def idle() -> bool:
            return self.worker().state.value == "not substantiated"

        await self.wait_for("the worker to be back to not substantiated", idle, 30)
        self.assertTrue(self.worker().canStartBuild())  # a stop is no failure
        entity = (await self.rest("workers/dw"))["workers"][0]
        self.assertEqual(entity["latent_state"], "not_substantiated")

    async def test_latent_state_in_rest_during_a_build(self) -> None:
        self.write_cfg(build_wait_timeout=0, sleep=2)
        await self.start_master()
        entity = (await self.rest("workers/dw"))["workers"][0]
        self.assertEqual(entity["latent_state"], "not_substantiated")
        brid = await self.request()
        seen: list[str] = []

        async def done() -> bool:
            state = (await self.rest("workers/dw"))["workers"][0]["latent_state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            br = await self.master.data.get(("buildrequests", brid))
            return br["complete"]

        await self.wait_for("the build, polling REST", done, 90)
        await self.no_containers("the container to be removed")

        async def idle() -> bool:
            state = (await self.rest("workers/dw"))["workers"][0]["latent_state"]
            return state == "not_substantiated"

        await self.wait_for("the worker to be stopped", idle, 30)
        self.assertIn("substantiating", seen)
        self.assertIn("substantiated", seen)
        self.assertEqual(
            self.latent_states(),
            ["substantiating", "substantiated", "insubstantiating", "not_substantiated"],
        )

    async def test_master_stops_within_seconds_while_a_worker_starts(self) -> None:
        self.write_cfg(command="sh -c 'sleep 120'")
        await self.start_master()
        brid = await self.request()

        async def waiting() -> Any:
            builds = await self.builds_of(brid)
            if builds and builds[0]["state_string"] == "preparing worker":
                return bool(await self.containers())
            return None

        await self.wait_for("the build to wait for its container", waiting)
        t0 = time.monotonic()
        await self.master.stopService()
        took = time.monotonic() - t0
        print(f"\nmaster stop while a Docker latent worker starts: {took:.2f} s")
        self.assertLess(took, 10)
        self.assertEqual(await self.containers(), [])
        # the build ended RETRY and its request waits for the next master
        engine = sa.create_engine(f"sqlite:///{self.basedir}/state.sqlite")
        self.addCleanup(engine.dispose)
        with engine.connect() as conn:
            (results,) = conn.execute(sa.text("select results from builds")).fetchone()
            claims = conn.execute(sa.text("select count(*) from buildrequest_claims")).scalar()
            complete = conn.execute(
                sa.text("select complete from buildrequests where id = :id"), {"id": brid}
            ).scalar()
        self.assertEqual((results, claims, complete), (RETRY, 0, 0))
