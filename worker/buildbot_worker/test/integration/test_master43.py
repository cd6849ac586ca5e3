"""Our worker program against a real Buildbot 4.3 master (run from a throw-away virtualenv).

The master lives in BUILDBOT43_VENV (made by `bash .ci/buildbot43-venv`); builds are
triggered with `buildbot sendchange` and checked in the master's SQLite database.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import sys
import time

from twisted.internet import reactor, task, utils
from twisted.trial import unittest

SETUP = "bash .ci/buildbot43-venv && set -a && . build/buildbot43.env && set +a"
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER_BIN = os.path.join(os.path.dirname(sys.executable), "buildbot-worker")


def _child_env() -> dict[str, str]:
    # Buildbot 4.3's programs run from their own virtualenv: no PYTHONPATH of ours may
    # make them import our packages instead of theirs
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _sleep(seconds: float) -> None:
    await task.deferLater(reactor, seconds, lambda: None)


class Master43Case(unittest.TestCase):
    """Starts a 4.3 master from `template`; helpers to run our worker against it."""

    timeout = 300
    template = "master.cfg.template"

    async def setUp(self) -> None:
        venv = os.environ.get("BUILDBOT43_VENV")
        if not venv or not os.path.exists(os.path.join(venv, "bin", "buildbot")):
            reason = f"BUILDBOT43_VENV is not set or not a virtualenv: run `{SETUP}`"
            if _in_ci():
                self.fail(reason)
            raise unittest.SkipTest(reason)
        self.buildbot = os.path.join(venv, "bin", "buildbot")
        self.dir = os.path.abspath(self.mktemp())
        self.up = os.path.join(self.dir, "up")
        os.makedirs(self.up)
        self.port = _free_port()
        self.pbport = _free_port()
        self.master = os.path.join(self.dir, "m")
        await self.run_ok(self.buildbot, "create-master", "-q", self.master)
        with open(os.path.join(HERE, self.template)) as f:
            cfg = f.read().replace("@PORT@", str(self.port)).replace("@UP@", self.up)
            cfg = cfg.replace("@PBPORT@", str(self.pbport))
        with open(os.path.join(self.master, "master.cfg"), "w") as f:
            f.write(cfg)
        self.addCleanup(self.kill_pidfile, self.master)
        await self.run_ok(self.buildbot, "start", self.master)

    # ---- helpers --------------------------------------------------------------

    async def run_cmd(self, *argv: str) -> tuple[int, str]:
        out, err, code = await utils.getProcessOutputAndValue(
            argv[0], argv[1:], env=_child_env(), path=self.dir
        )
        return code, (out + err).decode("utf-8", "replace")

    async def run_ok(self, *argv: str) -> str:
        code, text = await self.run_cmd(*argv)
        self.assertEqual(code, 0, f"{argv} failed:\n{text}")
        return text

    async def kill_pidfile(self, basedir: str) -> None:
        """SIGTERM (a worker then kills its commands), SIGKILL after 10 s."""
        try:
            with open(os.path.join(basedir, "twistd.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        for _ in range(100):
            if not _alive(pid):
                return
            await _sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass

    async def start_worker(self, name: str, password: str, *options: str) -> str:
        basedir = os.path.join(self.dir, name)
        await self.run_ok(
            WORKER_BIN, "create-worker", "-q", *options,
            basedir, f"127.0.0.1:{self.port}", "w1", password,
        )  # fmt: skip
        self.addCleanup(self.kill_pidfile, basedir)
        await self.run_cmd(WORKER_BIN, "start", "-q", basedir)
        return basedir

    def read_log(self, basedir: str) -> str:
        with open(os.path.join(basedir, "twistd.log"), encoding="utf-8", errors="replace") as f:
            return f.read()

    async def wait_for(self, condition, limit: float = 90.0, what: str = "") -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if condition():
                return
            await _sleep(0.25)
        self.fail(f"timed out waiting for {what or condition}")

    def query(self, sql: str, *params):
        db = sqlite3.connect(f"file:{self.master}/state.sqlite?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def builds(self) -> dict[str, tuple[int, int | None]]:
        rows = self.query(
            "select bu.name, b.id, b.results from builds b join builders bu on bu.id=b.builderid"
        )
        return {name: (buildid, results) for name, buildid, results in rows}

    def steps(self, buildid: int) -> dict[str, tuple[int | None, str]]:
        rows = self.query(
            "select name, results, state_string from steps where buildid=? order by number",
            buildid,
        )
        return {name: (results, state) for name, results, state in rows}

    def log_text(self, buildid: int, step: str, log: str = "stdio") -> str:
        rows = self.query(
            "select c.content from logchunks c join logs l on l.id=c.logid"
            " join steps s on s.id=l.stepid where s.buildid=? and s.name=? and l.name=?"
            " order by c.first_line",
            buildid,
            step,
            log,
        )
        # each chunk holds whole lines, without the last newline
        return "".join((r[0].decode() if isinstance(r[0], bytes) else r[0]) + "\n" for r in rows)


class TestWithMaster43(Master43Case):
    async def test_builds_interrupt_and_reconnect(self) -> None:
        worker = await self.start_worker("w", "pass1")
        await self.wait_for(lambda: "message from master: attached" in self.read_log(worker))
        await self.run_ok(
            self.buildbot, "sendchange", "--master", f"127.0.0.1:{self.port}",
            "--auth", "change:changepw", "--who", "me", "--branch", "main", "-c", "msg", "f.c",
        )  # fmt: skip

        def finished() -> bool:
            b = self.builds()
            return all(n in b and b[n][1] is not None for n in ("files", "shell"))

        await self.wait_for(finished, what="the 'files' and 'shell' builds")
        builds = self.builds()

        files_id, files_result = builds["files"]
        self.assertEqual(files_result, 0, self.steps(files_id))
        self.assertTrue(all(r == 0 for r, _ in self.steps(files_id).values()))
        with open(os.path.join(self.up, "a.txt")) as f:
            self.assertEqual(f.read(), "content\n")
        self.assertEqual(int(os.stat(os.path.join(self.up, "a.txt")).st_mtime), 1000000000)
        with open(os.path.join(self.up, "dirup", "dir", "a.txt")) as f:
            self.assertEqual(f.read(), "content\n")
        self.assertTrue(os.path.exists(os.path.join(self.up, "dirup", "b.txt")))

        shell_id, shell_result = builds["shell"]
        steps = self.steps(shell_id)
        self.assertEqual(shell_result, 0, steps)
        envpath = self.log_text(shell_id, "envpath")
        self.assertIn("\noP=/opt/xbin:", envpath)
        self.assertIn("\noF=bar\n", envpath)
        self.assertIn("\no\\xff\\xfeZ\n", envpath)
        self.assertIn("\nofrom stdin\n", self.log_text(shell_id, "stdin"))
        self.assertEqual(self.log_text(shell_id, "logfiles", "out"), "oline1\noline2\noline3\n")
        self.assertEqual(steps["timeout"][0], 2)
        self.assertIn("timed out", steps["timeout"][1])
        self.assertIn(
            "command timed out: 2 seconds without output", self.log_text(shell_id, "timeout")
        )
        self.assertIn("command timed out: 2 seconds elapsed", self.log_text(shell_id, "maxtime"))
        many = self.log_text(shell_id, "many")
        self.assertEqual(many.count("\no"), 200000)
        self.assertIn("\no200000\n", many)
        props = dict(
            self.query("select name, value from build_properties where buildid=?", shell_id)
        )
        self.assertEqual(props["said"], '"hi"')

        # the slow build is running; stopping the master interrupts it on the worker
        pidfile = os.path.join(self.up, "grandchild.pid")
        await self.wait_for(lambda: os.path.exists(pidfile), what="the slow step")
        await _sleep(0.5)
        with open(pidfile) as f:
            grandchild = int(f.read())
        await self.run_ok(self.buildbot, "stop", self.master)
        slow_id = self.builds()["slow"][0]
        self.assertIn("command interrupted, attempting to kill", self.log_text(slow_id, "slow"))
        await self.wait_for(lambda: not _alive(grandchild), 10, "the grandchild to die")

        # the worker reconnects to the restarted master
        attached = self.read_log(worker).count("message from master: attached")
        await self.run_ok(self.buildbot, "start", self.master)
        await self.wait_for(
            lambda: self.read_log(worker).count("message from master: attached") > attached,
            what="the worker to reconnect",
        )
        await self.run_ok(WORKER_BIN, "stop", worker)

    async def test_wrong_password_is_retried(self) -> None:
        worker = await self.start_worker("bad", "wrong")

        def refusals() -> int:
            return self.read_log(worker).count("login was unauthorized")

        await self.wait_for(lambda: refusals() >= 2, 30, "two refused logins")
        self.assertNotIn("message from master: attached", self.read_log(worker))
        self.assertTrue(_alive(int(open(os.path.join(worker, "twistd.pid")).read())))
        await self.run_ok(WORKER_BIN, "stop", worker)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return True
