"""A database written by the real Buildbot 4.3.0 is upgraded and read back by our code.

The real 4.3 master and worker (from the throw-away virtualenv that
`bash .ci/buildbot43-venv` makes, named by BUILDBOT43_VENV) run a few builds
whose steps print known lines; then our `buildbot upgrade-master` runs on that
master directory, and our DB components read the builds, steps, logs, changes
and requests back, compared with what the steps printed and with the rows 4.3
wrote (read with plain sqlite3).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import zlib
from typing import Any

from twisted.internet import defer, error, protocol, reactor, task, threads
from twisted.python import log
from twisted.trial import unittest

from buildbot.db import connector
from buildbot.test.fake import fakemaster
from buildbot.test.integration import buildbot43_output as output
from buildbot.test.util.db import _in_ci
from buildbot.test.util.processes import free_port

SETUP_COMMAND = "bash .ci/buildbot43-venv && set -a && . build/buildbot43.env && set +a"

SUCCESS, WARNINGS, FAILURE, SKIPPED = 0, 1, 2, 3

WORKER, WORKER_PASSWORD = "w43", "w43-secret"
CHANGE_USER, CHANGE_PASSWORD = "chg", "chg-secret"

# builder -> its steps (kind of output, or None for a step that is skipped)
BUILDERS: dict[str, list[tuple[str, str | None]]] = {
    "alpha": [("greet", "greet"), ("long", "long"), ("unicode", "unicode")],
    "beta": [("greet", "greet"), ("fail", "fail"), ("skipped", None), ("unicode", "unicode")],
}
BUILDER_RESULTS = {"alpha": SUCCESS, "beta": FAILURE}

CHANGES = [
    {
        "who": "Zoë Tester <zoe@example.org>",
        "revision": "0123456789abcdef0123456789abcdef01234567",
        "comments": "first change: naïve café ✓",
        "files": ["src/main.c", "docs/ünïcode.txt"],
    },
    {
        "who": "Bob <bob@example.org>",
        "revision": "fedcba9876543210fedcba9876543210fedcba98",
        "comments": "second change\nwith two lines",
        "files": ["README"],
    },
]

MASTER_CFG = """\
from buildbot.plugins import changes, schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['buildbotNetUsageData'] = None
c['title'] = 'buildbot 4.3 compatibility'
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker({worker!r}, {worker_password!r})]
c['change_source'] = [changes.PBChangeSource(user={change_user!r}, passwd={change_password!r})]
c['collapseRequests'] = False
c['logCompressionMethod'] = {compression!r}
c['schedulers'] = [
    schedulers.AnyBranchScheduler(
        name='on-change', treeStableTimer=None, builderNames={builder_names!r}),
]

TAG = util.Interpolate('%(prop:buildername)s#%(prop:buildnumber)s')


def make_step(name, kind):
    if kind is None:
        return steps.ShellCommand(name=name, command=['false'], doStepIf=False)
    return steps.ShellCommand(
        name=name, command=[{python!r}, {script!r}, kind, TAG], usePTY=False)


c['builders'] = [
    util.BuilderConfig(
        name=name, workernames=[{worker!r}],
        factory=util.BuildFactory([make_step(n, k) for n, k in spec]))
    for name, spec in {builders!r}.items()
]
"""


# a valid config for our loader (stand-ins for workers and schedulers) with 4.3's c['db']
REDUCED_MASTER_CFG = """\
from buildbot.test.unit.config.configfakes import minimal_config
c = BuildmasterConfig = minimal_config()
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
"""

# what MASTER_CFG takes from buildbot.plugins
PLUGINS_USED = {
    "changes": ["PBChangeSource"],
    "schedulers": ["AnyBranchScheduler"],
    "steps": ["ShellCommand"],
    "util": ["BuildFactory", "BuilderConfig", "Interpolate"],
    "worker": ["Worker"],
}


def _missing_plugins() -> list[str]:
    from buildbot import plugins

    return [
        f"{namespace}.{name}"
        for namespace, names in PLUGINS_USED.items()
        for name in names
        if not hasattr(getattr(plugins, namespace), name)
    ]


def _child_env(bin_dir: str) -> dict[str, str]:
    """A small environment for the 4.3 programs: nothing that could make them import
    our package (PYTHONPATH, coverage hooks), and little for the steps' log headers."""
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    env["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", os.defpath)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _contains(path: str, text: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return text in f.read()
    except OSError:
        return False


def _tail(path: str, lines: int = 60) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({e})"


class _Child(protocol.ProcessProtocol):
    """A child process: its output kept, `ended` fires with its exit code (-1 if killed)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.output = bytearray()
        self.ended: defer.Deferred[int] = defer.Deferred()
        self.running = True
        self.signal: int | None = None

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        self.running = False
        self.signal = getattr(reason.value, "signal", None)
        code = getattr(reason.value, "exitCode", None)
        self.ended.callback(-1 if code is None else code)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


class Buildbot43DBMixin:
    """Runs 4.3 with logs compressed by `compression`, then checks our reading of its DB."""

    timeout = 600
    compression = "gz"
    # bounds, in seconds, of the waits for the 4.3 programs
    start_limit = 90
    builds_limit = 300

    # ---- set-up and child processes ----

    def _venv_bin(self) -> str:
        venv = os.environ.get("BUILDBOT43_VENV", "")
        problem = None
        if not venv:
            problem = "BUILDBOT43_VENV is not set"
        elif not os.path.exists(os.path.join(venv, "bin", "buildbot")):
            problem = f"BUILDBOT43_VENV={venv} has no bin/buildbot"
        if problem:
            message = f"{problem}: run `{SETUP_COMMAND}` (the real Buildbot 4.3.0, for this test)"
            if _in_ci():
                raise RuntimeError(message)
            raise unittest.SkipTest(message)
        return os.path.join(venv, "bin")

    def _spawn_child(self, name: str, argv: list[str], cwd: str, env: dict[str, str]) -> _Child:
        child = _Child(name)
        transport = reactor.spawnProcess(child, argv[0], argv, env=env, path=cwd)
        self.addCleanup(self._kill_child, child, transport)
        return child

    async def _kill_child(self, child: _Child, transport: Any) -> None:
        if not child.running:
            return
        try:
            transport.signalProcess("KILL")
        except error.ProcessExitedAlready:
            return
        await child.ended

    async def _run_program(self, name: str, argv: list[str], cwd: str, env: dict[str, str]) -> str:
        """Run a program to its end; fail the test, with its output, unless it exits 0."""
        child = self._spawn_child(name, argv, cwd, env)
        code = await child.ended
        self.assertEqual(code, 0, f"{name} ({' '.join(argv)}) exited {code}:\n{child.text()}")
        return child.text()

    async def _stop_child(self, child: _Child, log_path: str) -> None:
        """SIGTERM, then wait (bounded) for a clean exit; SIGKILL after 60 s."""
        if not child.running:
            self.fail(f"{child.name} ended early:\n{child.text()}\n{_tail(log_path)}")
        child.transport.signalProcess("TERM")

        def kill() -> None:
            if child.running:
                child.transport.signalProcess("KILL")

        timeout = reactor.callLater(60, kill)
        code = await child.ended
        if timeout.active():
            timeout.cancel()
        else:
            self.fail(f"{child.name} did not stop within 60 s:\n{_tail(log_path)}")
        # twistd stopped by a signal ends by that same signal
        self.assertTrue(
            code == 0 or child.signal == signal.SIGTERM,
            f"{child.name} exited {code} (signal {child.signal}):\n{_tail(log_path)}",
        )

    async def _wait_for(self, what: str, check, limit: float, logs: list[str]) -> None:
        """Poll `check()` (run in a thread) until true, for at most `limit` seconds."""
        waited = 0.0
        while not await threads.deferToThread(check):
            if waited >= limit:
                tails = "\n".join(f"--- {p} (tail):\n{_tail(p)}" for p in logs)
                self.fail(f"timed out after {limit:.0f} s waiting for {what}\n{tails}")
            await task.deferLater(reactor, 0.5, lambda: None)
            waited += 0.5

    # ---- the 4.3 run ----

    async def run_buildbot43(self) -> str:
        """Make a master directory with a DB that 4.3 filled; returns its path."""
        bin_dir = self._venv_bin()
        env = _child_env(bin_dir)
        top = os.path.abspath(self.mktemp())
        os.makedirs(top)
        basedir = os.path.join(top, "master")
        workdir = os.path.join(top, "worker")
        port = free_port()

        await self._run_program(
            "create-master", [f"{bin_dir}/buildbot", "create-master", basedir], top, env
        )
        with open(os.path.join(basedir, "master.cfg"), "w", encoding="utf-8") as f:
            f.write(
                MASTER_CFG.format(
                    port=port,
                    worker=WORKER,
                    worker_password=WORKER_PASSWORD,
                    change_user=CHANGE_USER,
                    change_password=CHANGE_PASSWORD,
                    compression=self.compression,
                    builder_names=sorted(BUILDERS),
                    python=os.path.join(bin_dir, "python"),
                    script=os.path.abspath(output.__file__),
                    builders=BUILDERS,
                )
            )
        await self._run_program(
            "create-worker",
            [
                f"{bin_dir}/buildbot-worker",
                "create-worker",
                workdir,
                f"127.0.0.1:{port}",
                WORKER,
                WORKER_PASSWORD,
            ],
            top,
            env,
        )

        master_log = os.path.join(basedir, "twistd.log")
        worker_log = os.path.join(workdir, "twistd.log")
        logs = [master_log, worker_log]
        twistd = [
            f"{bin_dir}/twistd",
            "--nodaemon",
            "--no_save",
            "--pidfile=",
            "-y",
            "buildbot.tac",
        ]
        master = self._spawn_child("4.3 master", twistd, basedir, env)
        await self._wait_for(
            "the 4.3 master to start",
            lambda: _contains(master_log, "BuildMaster is running"),
            self.start_limit,
            logs,
        )
        worker = self._spawn_child("4.3 worker", twistd, workdir, env)
        await self._wait_for(
            "the 4.3 worker to connect",
            lambda: _contains(worker_log, "worker is ready"),
            self.start_limit,
            logs,
        )

        for change in CHANGES:
            argv = [
                f"{bin_dir}/buildbot",
                "sendchange",
                f"--master=127.0.0.1:{port}",
                f"--auth={CHANGE_USER}:{CHANGE_PASSWORD}",
                f"--who={change['who']}",
                "--branch=main",
                f"--revision={change['revision']}",
                f"--comments={change['comments']}",
                "--project=bb43",
                "--repository=https://example.org/bb43.git",
                "--vc=git",
                *change["files"],
            ]
            await self._run_program("sendchange", argv, top, env)

        builds = len(CHANGES) * len(BUILDERS)
        db_path = os.path.join(basedir, "state.sqlite")

        def all_done() -> bool:
            return _count_done(db_path) == (builds, builds, len(CHANGES))

        await self._wait_for(f"{builds} builds to complete", all_done, self.builds_limit, logs)
        await self._stop_child(worker, worker_log)
        await self._stop_child(master, master_log)
        return basedir

    # ---- our side ----

    async def upgrade_with_ours(self, basedir: str) -> None:
        ours = os.path.join(os.path.dirname(sys.executable), "buildbot")
        missing = _missing_plugins()
        if missing:
            # Until our plugins can load 4.3's master.cfg, upgrade-master reads a
            # master.cfg that keeps only its c['db'] (4.3's is kept beside it).
            log.msg(f"our plugins lack {', '.join(missing)}: upgrade-master reads a reduced config")
            cfg = os.path.join(basedir, "master.cfg")
            os.replace(cfg, cfg + ".buildbot43")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write(REDUCED_MASTER_CFG)
        await self._run_program(
            "our upgrade-master", [ours, "upgrade-master", basedir], basedir, {**os.environ}
        )

    async def open_with_ours(self, basedir: str) -> connector.DBConnector:
        master = fakemaster.make_master(self, reactor=reactor, basedir=basedir)
        db = connector.DBConnector(basedir)
        await db.setServiceParent(master)
        master.db = db
        path = os.path.join(basedir, "state.sqlite")
        await db.setup(db_url=f"sqlite:///{path}", check_version=True)
        self.addCleanup(db.pool.shutdown)
        return db

    async def test_upgrade_and_read_back(self) -> None:
        basedir = await self.run_buildbot43()
        db_path = os.path.join(basedir, "state.sqlite")
        before = await threads.deferToThread(_dump, db_path)

        await self.upgrade_with_ours(basedir)
        after = await threads.deferToThread(_dump, db_path)
        self.assertEqual(after, before, "upgrade-master changed a database already at head")

        db = await self.open_with_ours(basedir)
        raw = {name: rows for name, rows in before.items() if name != "alembic_version"}
        self.assertEqual(before["alembic_version"], [{"version_num": "067"}])
        builder_names = await self.check_builders(db, raw)
        await self.check_workers(db, raw)
        await self.check_changes(db, raw)
        builds = await self.check_builds(db, raw, builder_names)
        await self.check_requests(db, raw, builds)
        for build in builds:
            await self.check_steps_and_logs(db, raw, build, builder_names[build.builderid])

    async def check_builders(self, db: Any, raw: dict) -> dict[int, str]:
        builders = await db.builders.getBuilders()
        self.assertEqual(sorted(b.name for b in builders), sorted(BUILDERS))
        self.assertEqual(
            [(b.id, b.name) for b in builders], [(r["id"], r["name"]) for r in raw["builders"]]
        )
        return {b.id: b.name for b in builders}

    async def check_workers(self, db: Any, raw: dict) -> None:
        workers = await db.workers.getWorkers()
        self.assertEqual([w.name for w in workers], [WORKER])
        self.assertEqual(workers[0].id, raw["workers"][0]["id"])

    async def check_changes(self, db: Any, raw: dict) -> None:
        changes = await db.changes.getChanges()
        self.assertEqual(len(changes), len(CHANGES))
        rows = {r["changeid"]: r for r in raw["changes"]}
        for change, sent in zip(changes, CHANGES, strict=True):
            row = rows[change.changeid]
            self.assertEqual(change.author, sent["who"])
            self.assertEqual(change.comments, sent["comments"])
            self.assertEqual(change.revision, sent["revision"])
            self.assertEqual(change.branch, "main")
            self.assertEqual(change.project, "bb43")
            self.assertEqual(change.repository, "https://example.org/bb43.git")
            self.assertEqual(sorted(change.files), sorted(sent["files"]))
            self.assertEqual(_epoch(change.when_timestamp), row["when_timestamp"])
            self.assertEqual(change.sourcestampid, row["sourcestampid"])

    async def check_builds(self, db: Any, raw: dict, builder_names: dict[int, str]) -> list:
        builds = await db.builds.getBuilds()
        self.assertEqual(len(builds), len(CHANGES) * len(BUILDERS))
        rows = {r["id"]: r for r in raw["builds"]}
        self.assertEqual(sorted(rows), [b.id for b in builds])
        for build in builds:
            row = rows[build.id]
            name = builder_names[build.builderid]
            self.assertEqual(
                (
                    build.number,
                    build.builderid,
                    build.buildrequestid,
                    build.workerid,
                    build.masterid,
                    _epoch(build.started_at),
                    _epoch(build.complete_at),
                    build.locks_duration_s,
                    build.state_string,
                    build.results,
                ),
                (
                    row["number"],
                    row["builderid"],
                    row["buildrequestid"],
                    row["workerid"],
                    row["masterid"],
                    row["started_at"],
                    row["complete_at"],
                    row["locks_duration_s"],
                    row["state_string"],
                    row["results"],
                ),
                f"build {name}#{build.number}",
            )
            self.assertEqual(build.results, BUILDER_RESULTS[name], f"{name}#{build.number}")
            by_number = await db.builds.getBuildByNumber(build.builderid, build.number)
            self.assertEqual(by_number, build)
        for builderid, name in builder_names.items():
            numbers = sorted(b.number for b in builds if b.builderid == builderid)
            self.assertEqual(numbers, list(range(1, len(CHANGES) + 1)), name)
        return builds

    async def check_requests(self, db: Any, raw: dict, builds: list) -> None:
        requests = await db.buildrequests.getBuildRequests()
        self.assertEqual(len(requests), len(builds))
        by_request = {b.buildrequestid: b for b in builds}
        for req in requests:
            build = by_request[req.buildrequestid]
            self.assertTrue(req.complete)
            self.assertEqual(req.results, build.results)
            self.assertEqual(req.builderid, build.builderid)
            self.assertEqual(req.claimed_by_masterid, build.masterid)
        buildsets = await db.buildsets.getBuildsets()
        self.assertEqual(len(buildsets), len(CHANGES))
        self.assertEqual(sorted(bs.bsid for bs in buildsets), [r["id"] for r in raw["buildsets"]])
        for bs in buildsets:
            self.assertTrue(bs.complete)
            self.assertEqual(bs.results, FAILURE)  # each has a build of beta
            self.assertEqual(len(bs.sourcestamps), 1)

    async def check_steps_and_logs(self, db: Any, raw: dict, build: Any, builder: str) -> None:
        tag = f"{builder}#{build.number}"
        steps = await db.steps.getSteps(build.id)
        spec = [("worker_preparation", None), *BUILDERS[builder]]
        self.assertEqual([s.name for s in steps], [name for name, _ in spec], tag)
        rows = {r["id"]: r for r in raw["steps"] if r["buildid"] == build.id}
        self.assertEqual(sorted(rows), [s.id for s in steps], tag)
        for step, (name, kind) in zip(steps, spec, strict=True):
            row = rows[step.id]
            where = f"{tag} step {name}"
            self.assertEqual(
                (
                    step.number,
                    step.state_string,
                    step.results,
                    _epoch(step.started_at),
                    _epoch(step.complete_at),
                    step.hidden,
                    step.urls,
                ),
                (
                    row["number"],
                    row["state_string"],
                    row["results"],
                    row["started_at"],
                    row["complete_at"],
                    bool(row["hidden"]),
                    [],
                ),
                where,
            )
            expected = {None: SKIPPED if name == "skipped" else SUCCESS, "fail": FAILURE}
            self.assertEqual(step.results, expected.get(kind, SUCCESS), where)

            logs = await db.logs.getLogs(step.id)
            log_rows = [r for r in raw["logs"] if r["stepid"] == step.id]
            self.assertEqual(
                [(g.id, g.name, g.slug, g.type, g.num_lines, g.complete) for g in logs],
                [
                    (r["id"], r["name"], r["slug"], r["type"], r["num_lines"], bool(r["complete"]))
                    for r in log_rows
                ],
                where,
            )
            if kind is None:
                continue
            stdio = await db.logs.getLogBySlug(step.id, "stdio")
            self.assertIsNotNone(stdio, where)
            await self.check_log(db, raw, stdio, kind, tag, where)

    async def check_log(
        self, db: Any, raw: dict, stdio: Any, kind: str, tag: str, where: str
    ) -> None:
        self.assertEqual((stdio.type, stdio.complete), ("s", True), where)
        text = await db.logs.getLogLines(stdio.id, 0, stdio.num_lines - 1)
        self.assertTrue(text.endswith("\n"), where)
        lines = text[:-1].split("\n")
        self.assertEqual(len(lines), stdio.num_lines, where)

        # the same text, decoded here from 4.3's rows without our code
        chunks = sorted(
            (r for r in raw["logchunks"] if r["logid"] == stdio.id), key=lambda r: r["first_line"]
        )
        self.assertEqual(text, "".join(_decode_chunk(r) + "\n" for r in chunks), where)

        def stream(prefix: str) -> list[str]:
            return [line[1:] for line in lines if line[:1] == prefix]

        self.assertEqual(stream("o"), output.stdout_lines(kind, tag), where)
        self.assertEqual(stream("e"), output.stderr_lines(kind, tag), where)
        self.assertIn(f"exit code {output.EXIT_CODES[kind]}", "\n".join(stream("h")), where)
        self.assertEqual(set(line[:1] for line in lines) - {"o", "e", "h"}, set(), where)

        if kind == "long":
            # several chunks, compressed, and ranges across their boundaries
            self.assertGreaterEqual(len(chunks), 2, where)
            codes = {r["compressed"] for r in chunks}
            self.assertIn(COMPRESSION_CODES[self.compression], codes, where)
            for chunk in chunks[:-1]:
                first, last = chunk["last_line"] - 2, chunk["last_line"] + 3
                part = await db.logs.getLogLines(stdio.id, first, last)
                self.assertEqual(part, "".join(line + "\n" for line in lines[first : last + 1]))


COMPRESSION_CODES = {"raw": 0, "gz": 1, "bz2": 2, "lz4": 3, "zstd": 4, "br": 5}


def _decode_chunk(row: dict) -> str:
    data, code = row["content"], row["compressed"]
    if code == 1:
        data = zlib.decompress(data)
    elif code == 4:
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    elif code != 0:
        raise AssertionError(f"chunk compressed with {code}, not used in this test")
    return data.decode("utf-8")


def _epoch(dt: Any) -> int | None:
    return None if dt is None else int(dt.timestamp())


def _dump(db_path: str) -> dict[str, list[dict]]:
    """Every row of every table, read with plain sqlite3."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: [dict(r) for r in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid')]
            for name in sorted(names)
        }
    finally:
        conn.close()


def _count_done(db_path: str) -> tuple[int, int, int]:
    """(complete builds, complete build requests, complete buildsets) in a 4.3 DB."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        return tuple(
            conn.execute(q).fetchone()[0]
            for q in (
                "SELECT COUNT(*) FROM builds WHERE complete_at IS NOT NULL",
                "SELECT COUNT(*) FROM buildrequests WHERE complete = 1",
                "SELECT COUNT(*) FROM buildsets WHERE complete = 1",
            )
        )
    except sqlite3.OperationalError:  # the table is being created or locked
        return (-1, -1, -1)
    finally:
        conn.close()


class TestGzipLogs(Buildbot43DBMixin, unittest.TestCase):
    """4.3's default when zstandard is not installed."""

    compression = "gz"


class TestZstdLogs(Buildbot43DBMixin, unittest.TestCase):
    """4.3's default when zstandard is installed."""

    compression = "zstd"
