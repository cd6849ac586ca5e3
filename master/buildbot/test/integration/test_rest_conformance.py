"""REST and JSON-RPC conformance with the real Buildbot 4.3.0.

The real 4.3 master (from the throw-away virtualenv named by BUILDBOT43_VENV, with its
own buildbot-worker) and ours (with our buildbot-worker) start as separate programs from
the same master.cfg, run the same builds (forced through JSON-RPC), and then answer the
same list of requests: every endpoint of the data API with real ids, query parameters
good and bad, unknown ids and paths, and control calls, good and failing; then the
paths outside the data API (`/api`, `/config`, `/avatar`, `/auth`, `/change_hook`,
`/plugins`, `/`). The answers
must agree by the shape rule of `buildbot.test.util.conformance`; a mismatch fails the
test with the list of differences, request by request.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from twisted.internet import defer, error, reactor, task, threads
from twisted.python import log
from twisted.trial import unittest

from buildbot.test.util import conformance as cf
from buildbot.test.util.db import _in_ci
from buildbot.test.util.processes import ChildProcess, child_env, free_port, run_program

SETUP_COMMAND = "bash .ci/buildbot43-venv && set -a && . build/buildbot43.env && set +a"


def _ref_bin() -> str:
    venv = os.environ.get("BUILDBOT43_VENV", "")
    problem = None
    if not venv:
        problem = "BUILDBOT43_VENV is not set"
    elif not os.path.exists(os.path.join(venv, "bin", "buildbot")):
        problem = f"BUILDBOT43_VENV={venv} has no bin/buildbot"
    elif not glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "buildbot_www")):
        # 4.3's web server does not start without its UI package
        problem = f"BUILDBOT43_VENV={venv} has no buildbot-www 4.3.0"
    if problem:
        message = f"{problem}: run `{SETUP_COMMAND}` (the real Buildbot 4.3.0, for this test)"
        if _in_ci():
            raise RuntimeError(message)
        raise unittest.SkipTest(message)
    return os.path.join(venv, "bin")


def _http(url: str, body: bytes | None = None, content_type: str | None = None) -> tuple:
    """(status, decoded JSON body or raw text) of one request; blocking, for a thread."""
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    req.add_header("Accept", "application/json")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, data = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to compare, not to follow


_no_redirect = urllib.request.build_opener(_NoRedirect)


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, raw body) of a GET that follows no
    redirect; blocking, for a thread."""
    try:
        with _no_redirect.open(url, timeout=30) as resp:
            status, headers, data = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, headers, data = e.code, e.headers, e.read()
    return status, {k.lower(): v for k, v in headers.items()}, data


class Side:
    """One master (4.3's or ours) with its worker, both child programs."""

    def __init__(self, name: str, bin_dir: str, top: str) -> None:
        self.name, self.bin_dir = name, bin_dir
        self.basedir = os.path.join(top, name, "master")
        self.workdir = os.path.join(top, name, "worker")
        self.www_port, self.pb_port = free_port(), free_port()
        self.env = child_env(bin_dir)
        self.env["PYTHONIOENCODING"] = "utf-8"
        self.children: list[tuple[ChildProcess, Any]] = []
        self.ids: dict[str, Any] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.www_port}"

    def url(self, path: str) -> str:
        return f"{self.base}/api/v2{path}"

    def fetch_root(self, path: str, kind: str) -> defer.Deferred:
        """The answer to a request outside /api/v2, as `cf.root_answer` reduces it."""
        d = threads.deferToThread(_fetch, self.base + path)
        return d.addCallback(lambda answer: cf.root_answer(kind, self.base, *answer))

    def get(self, path: str) -> defer.Deferred:
        return threads.deferToThread(_http, self.url(path))

    def post(self, path: str, body: bytes, content_type: str = "application/json"):
        return threads.deferToThread(_http, self.url(path), body, content_type)

    def rpc(self, path: str, method: str, params: dict[str, Any]) -> defer.Deferred:
        return self.post(path, cf.rpc_body(method, params))

    def spawn(self, argv: list[str], cwd: str) -> ChildProcess:
        child = ChildProcess()
        transport = reactor.spawnProcess(child, argv[0], argv, env=self.env, path=cwd)
        self.children.append((child, transport))
        return child

    async def stop(self) -> None:
        for child, transport in reversed(self.children):
            if child.running:
                try:
                    transport.signalProcess("KILL")
                except error.ProcessExitedAlready:
                    continue
                await child.ended

    def tail(self) -> str:
        parts = []
        for path in (self.basedir, self.workdir):
            try:
                with open(os.path.join(path, "twistd.log"), errors="replace") as f:
                    parts.append(f"--- {self.name} {path}/twistd.log:\n" + f.read()[-3000:])
            except OSError:
                pass
        for child, _ in self.children:
            parts.append(bytes(child.output[-1500:]).decode("utf-8", "replace"))
        return "\n".join(parts)


class TestRestConformance(unittest.TestCase):
    timeout = 240

    async def setUp(self) -> None:
        ref_bin = _ref_bin()
        top = os.path.abspath(self.mktemp())
        self.ref = Side("bb43", ref_bin, top)
        self.ours = Side("ours", os.path.dirname(sys.executable), top)
        for side in (self.ref, self.ours):
            self.addCleanup(side.stop)
        await defer.gatherResults(
            [defer.ensureDeferred(self.prepare(s)) for s in (self.ref, self.ours)],
            consumeErrors=True,
        ).addErrback(lambda f: f.value.subFailure)

    # ---- set-up of one side --------------------------------------------------------

    async def prepare(self, side: Side) -> None:
        os.makedirs(os.path.dirname(side.basedir))
        await run_program(
            self, [f"{side.bin_dir}/buildbot", "create-master", "-q", side.basedir],
            side.env, os.path.dirname(side.basedir),
        )  # fmt: skip
        with open(os.path.join(side.basedir, "master.cfg"), "w") as f:
            f.write(cf.master_cfg(side.www_port, side.pb_port))
        await run_program(
            self,
            [f"{side.bin_dir}/buildbot-worker", "create-worker", "-q", side.workdir,
             f"127.0.0.1:{side.pb_port}", cf.WORKER, cf.PASSWORD],
            side.env, os.path.dirname(side.basedir),
        )  # fmt: skip
        twistd = [f"{side.bin_dir}/twistd", "--nodaemon", "--no_save", "--pidfile=", "-y"]
        side.spawn([*twistd, "buildbot.tac"], side.basedir)
        await self.wait(side, "the master to serve", lambda: self.answers(side, "/masters"))
        side.spawn([*twistd, "buildbot.tac"], side.workdir)
        await self.wait(side, "the worker to connect", lambda: self.connected(side))
        await self.run_builds(side)
        await self.find_ids(side)

    async def answers(self, side: Side, path: str) -> bool:
        try:
            status, _ = await side.get(path)
        except OSError:
            return False
        return status == 200

    async def connected(self, side: Side) -> bool:
        status, body = await side.get(f"/workers/{cf.WORKER}")
        # the web server may answer before the workers are configured (404 until then)
        if status != 200 or not body.get("workers"):
            return False
        return bool(body["workers"][0]["connected_to"])

    async def wait(self, side: Side, what: str, check: Any, limit: float = 60) -> None:
        deadline = time.monotonic() + limit
        while not await check():
            if time.monotonic() > deadline:
                self.fail(f"{side.name}: timed out waiting for {what}\n{side.tail()}")
            if any(not c.running for c, _ in side.children):
                self.fail(f"{side.name}: a program ended waiting for {what}\n{side.tail()}")
            await task.deferLater(reactor, 0.1, lambda: None)

    async def force(self, side: Side, builder: str, wait: bool = True) -> int:
        params = {"builderNames": [builder], "reason": "conformance", "note": "hi"}
        status, body = await side.rpc("/forceschedulers/force", "force", params)
        self.assertEqual(status, 200, f"{side.name}: force {builder}: {body}")
        brid = list(body["result"][1].values())[0]
        if wait:

            async def done() -> bool:
                _, br = await side.get(f"/buildrequests/{brid}")
                return br["buildrequests"][0]["complete"]

            await self.wait(side, f"the build of {builder}", done)
        return brid

    async def run_builds(self, side: Side) -> None:
        hook = f"http://127.0.0.1:{side.www_port}/change_hook/base"
        form = (
            b"author=Alice+%3Calice%40example.org%3E&revision=abc123&branch=main"
            b"&comments=a+change&project=p&repository=https%3A%2F%2Fexample.org%2Fr.git"
            b"&files=%5B%22a.txt%22%5D"
        )
        status, body = await threads.deferToThread(
            _http, hook, form, "application/x-www-form-urlencoded"
        )
        self.assertEqual(status, 200, f"{side.name}: change hook: {body}")
        side.ids["alpha_brid"] = await self.force(side, "alpha")
        side.ids["beta_brid"] = await self.force(side, "beta")
        side.ids["parent_brid"] = await self.force(side, "parent")
        side.ids["pending_brid"] = await self.force(side, "pending", wait=False)

    async def one(self, side: Side, path: str) -> dict[str, Any]:
        status, body = await side.get(path)
        self.assertEqual(status, 200, f"{side.name}: {path}: {body}")
        plural = [k for k in body if k != "meta"][0]
        self.assertTrue(body[plural], f"{side.name}: {path} is empty")
        return body[plural][0]

    async def find_ids(self, side: Side) -> None:
        ids = side.ids
        ids["alpha"] = (await self.one(side, "/builders/alpha"))["builderid"]
        ids["masterid"] = (await self.one(side, "/masters"))["masterid"]
        ids["workerid"] = (await self.one(side, f"/workers/{cf.WORKER}"))["workerid"]
        offline = await self.one(side, f"/workers/{cf.OFFLINE_WORKER}")
        ids["offline_workerid"] = offline["workerid"]
        for name in ("alpha", "beta", "parent"):
            build = await self.one(side, f"/buildrequests/{ids[name + '_brid']}/builds")
            ids[f"{name}_build"] = build["buildid"]
        ids["alpha_bsid"] = (await self.one(side, f"/buildrequests/{ids['alpha_brid']}"))[
            "buildsetid"
        ]
        ids["greet_step"] = (await self.one(side, f"/builds/{ids['alpha_build']}/steps/greet"))[
            "stepid"
        ]
        ids["stdio_log"] = (await self.one(side, f"/steps/{ids['greet_step']}/logs/stdio"))["logid"]
        ids["ssid"] = (await self.one(side, "/sourcestamps"))["ssid"]
        ids["changeid"] = (await self.one(side, "/changes"))["changeid"]
        status, body = await side.get("/schedulers?name=force")
        ids["schedulerid"] = body["schedulers"][0]["schedulerid"]

    # ---- the comparison ------------------------------------------------------------

    async def both(self, send: Any) -> tuple[Any, Any]:
        return tuple(await defer.gatherResults([send(self.ref), send(self.ours)]))

    async def test_same_answers(self) -> None:
        report: list[str] = []
        checked = 0

        def record(label: str, ref: Any, ours: Any, compare: Any = cf.compare_answers) -> None:
            diffs = []
            for diff in compare(ref, ours):
                why = cf.known(label, diff)
                if why is None:
                    diffs.append(diff)
                else:
                    log.msg(f"known difference: {label}: {diff} ({why})")
            if diffs:
                report.append(f"{label}\n    " + "\n    ".join(diffs))

        for template in cf.READS:
            ref, ours = await self.both(lambda s, t=template: s.get(cf.fill(t, s.ids)))
            record(f"GET {template}", ref, ours)
            checked += 1
        for template, method, params in cf.CONTROLS:
            ref, ours = await self.both(
                lambda s, t=template, m=method, p=params: s.rpc(cf.fill(t, s.ids), m, p)
            )
            record(f"POST {template} {method} {params}", ref, ours)
            checked += 1
        for label, content_type, body in cf.BAD_RPC:
            ref, ours = await self.both(
                lambda s, b=body, c=content_type: s.post("/forceschedulers/force", b, c)
            )
            record(f"POST /forceschedulers/force ({label})", ref, ours)
            checked += 1
        for path, kind in cf.ROOTS:
            ref, ours = await self.both(lambda s, p=path, k=kind: s.fetch_root(p, k))
            record(f"GET {path}", ref, ours, lambda r, o, k=kind: cf.compare_roots(k, r, o))
            checked += 1

        if report:
            self.fail(
                f"{len(report)} of {checked} requests answered differently:\n" + "\n".join(report)
            )


class TestRootComparison(unittest.TestCase):
    """The reduction and comparison of the answers outside /api/v2 (no master needed)."""

    base = "http://127.0.0.1:8010"

    def answer(self, kind: str, status: int, headers: dict[str, str], body: bytes = b""):
        return cf.root_answer(kind, self.base, status, headers, body)

    def test_location_leaves_out_base_query_and_fragment(self):
        ref = cf.root_answer("location", "http://h:1", 302, {"location": "http://h:1/#/"}, b"")
        ours = self.answer("location", 302, {"location": f"{self.base}/?x=1"})
        self.assertEqual(ref, (302, "{base}/"))
        self.assertEqual(cf.compare_roots("location", ref, ours), [])
        other = self.answer("location", 302, {"location": "//www.gravatar.com/avatar/x?s=3"})
        self.assertEqual(
            cf.compare_roots("location", ref, other),
            ["location '{base}/' (4.3) != '//www.gravatar.com/avatar/x' (ours)"],
        )
        self.assertEqual(self.answer("location", 404, {}), (404, None))

    def test_html_compares_the_media_type(self):
        ref = self.answer("html", 200, {"content-type": "text/html"})
        ours = self.answer("html", 200, {"content-type": "text/html; charset=utf-8"})
        self.assertEqual(cf.compare_roots("html", ref, ours), [])
        plain = self.answer("html", 200, {"content-type": "text/plain"})
        self.assertEqual(len(cf.compare_roots("html", ref, plain)), 1)

    def test_status(self):
        ref, ours = self.answer("status", 400, {}), self.answer("status", 404, {})
        self.assertEqual(cf.compare_roots("status", ref, ours), ["status 400 (4.3) != 404 (ours)"])
        self.assertEqual(cf.compare_roots("status", ref, ref), [])

    def test_json_by_shape(self):
        ref = self.answer("json", 200, {}, b'{"avatar_methods": {"name": "gravatar"}}')
        ours = self.answer("json", 200, {}, b'{"avatar_methods": [{"name": "gravatar"}]}')
        diffs = cf.compare_roots("json", ref, ours)
        self.assertEqual(len(diffs), 1)
        self.assertIn("$.avatar_methods: type object", diffs[0])
        self.assertEqual(self.answer("json", 500, {}, b"<html>"), (500, "<html>"))
