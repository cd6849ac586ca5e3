"""What `make demo` does after installing: a demo master and worker running a first build.

    python pkg/make_demo.py [--stop]

Under ``demo/`` (beside this repository's Makefile) it creates a git repository with a
small project, a master on SQLite whose builder clones that repository and runs its
tests, and a worker; starts both, forces a build through the REST API, waits for it
to succeed, and says where to look. Running it again restarts the same master and
worker and runs another build. ``--stop`` stops them.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BUILDBOT_DEMO_DIR puts the demo elsewhere (the test of this script does)
DEMO = os.environ.get("BUILDBOT_DEMO_DIR") or os.path.join(ROOT, "demo")
PROJECT = os.path.join(DEMO, "project")
MASTER = os.path.join(DEMO, "master")
WORKER = os.path.join(DEMO, "worker")
BIN = os.path.dirname(sys.executable)
WORKER_NAME, WORKER_PASSWORD = "demo-worker", "demo-pass"

PROJECT_FILES = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": (
        "import unittest\n\nfrom calc import add\n\n\n"
        "class TestAdd(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n\n\n"
        "if __name__ == '__main__':\n    unittest.main()\n"
    ),
}

MASTER_CFG = """\
# The demo master made by `make demo`: one worker, one builder that clones the demo
# project and runs its tests, a force scheduler, the REST API on port {www_port}.
from buildbot.plugins import schedulers, steps, util, worker

c = BuildmasterConfig = {{}}
c['title'] = 'Demo'
c['buildbotURL'] = 'http://localhost:{www_port}/'
c['workers'] = [worker.Worker({worker_name!r}, {worker_password!r})]
c['protocols'] = {{'pb': {{'port': 'tcp:{pb_port}:interface=127.0.0.1'}}}}

factory = util.BuildFactory()
factory.addStep(steps.ShellSequence(name='checkout', commands=[
    util.ShellArg(command=['rm', '-rf', 'src'], logname='clean'),
    util.ShellArg(command=['git', 'clone', '--quiet', {project!r}, 'src'], logname='clone'),
]))
factory.addStep(steps.ShellCommand(
    name='test', command=[{python!r}, '-m', 'unittest', '-v', 'test_calc'], workdir='build/src'))
c['builders'] = [util.BuilderConfig(name='demo', workernames=[{worker_name!r}], factory=factory)]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['demo'])]
c['www'] = {{'port': 'tcp:{www_port}:interface=127.0.0.1'}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
"""


def run(*argv: str, cwd: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.exit(f"make demo: {' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def make_project() -> None:
    if os.path.isdir(os.path.join(PROJECT, ".git")):
        return
    os.makedirs(PROJECT, exist_ok=True)
    for name, text in PROJECT_FILES.items():
        with open(os.path.join(PROJECT, name), "w") as f:
            f.write(text)
    run("git", "init", "-q", cwd=PROJECT)
    run("git", "add", ".", cwd=PROJECT)
    run(
        "git", "-c", "user.name=Demo", "-c", "user.email=demo@localhost",
        "commit", "-q", "-m", "A calculator and its test", cwd=PROJECT,
    )  # fmt: skip


def stop() -> None:
    for program, basedir in (("buildbot-worker", WORKER), ("buildbot", MASTER)):
        if os.path.exists(os.path.join(basedir, "twistd.pid")):
            run(os.path.join(BIN, program), "stop", basedir, check=False)


def ports() -> tuple[int, int]:
    """The ports of an existing demo master (kept across runs), or free ones."""
    path = os.path.join(DEMO, "ports.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        return saved["www"], saved["pb"]
    www, pb = free_port(8010), free_port(9989)
    os.makedirs(DEMO, exist_ok=True)
    with open(path, "w") as f:
        json.dump({"www": www, "pb": pb}, f)
    return www, pb


def api(www_port: int, path: str, body: dict | None = None) -> dict:
    url = f"http://127.0.0.1:{www_port}/api/v2/{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait(what: str, check, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (urllib.error.URLError, OSError, KeyError, IndexError):
            pass
        time.sleep(0.5)
    sys.exit(f"make demo: gave up waiting for {what}; see {MASTER}/twistd.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="stop the demo master and worker")
    if parser.parse_args().stop:
        stop()
        print("demo master and worker stopped")
        return

    stop()
    make_project()
    www_port, pb_port = ports()
    if not os.path.exists(os.path.join(MASTER, "buildbot.tac")):
        run(os.path.join(BIN, "buildbot"), "create-master", "-q", MASTER)
    with open(os.path.join(MASTER, "master.cfg"), "w") as f:
        f.write(
            MASTER_CFG.format(
                www_port=www_port,
                pb_port=pb_port,
                worker_name=WORKER_NAME,
                worker_password=WORKER_PASSWORD,
                project=PROJECT,
                python=sys.executable,
            )
        )
    run(os.path.join(BIN, "buildbot"), "checkconfig", MASTER)
    if not os.path.exists(os.path.join(WORKER, "buildbot.tac")):
        run(
            os.path.join(BIN, "buildbot-worker"), "create-worker", "-q", WORKER,
            f"127.0.0.1:{pb_port}", WORKER_NAME, WORKER_PASSWORD,
        )  # fmt: skip
    run(os.path.join(BIN, "buildbot"), "start", MASTER)
    run(os.path.join(BIN, "buildbot-worker"), "start", WORKER)
    print(
        f"master and worker started; the web UI is at http://localhost:{www_port}/ "
        f"and the REST API at http://localhost:{www_port}/api/v2"
    )

    wait(
        "the worker to connect",
        lambda: api(www_port, f"workers/{WORKER_NAME}")["workers"][0]["connected_to"],
    )
    reply = api(
        www_port,
        "forceschedulers/force",
        {"jsonrpc": "2.0", "id": 1, "method": "force", "params": {"builderNames": ["demo"]}},
    )
    bsid = reply["result"][0]
    print(f"forced a build (buildset {bsid}); waiting for it to finish")
    wait(
        "the build",
        lambda: api(www_port, f"buildsets/{bsid}")["buildsets"][0]["complete"],
        limit=300,
    )
    brid = next(iter(reply["result"][1].values()))
    build = api(www_port, f"buildrequests/{brid}/builds")["builds"][-1]
    if build["results"] != 0:
        sys.exit(
            f"make demo: build {build['number']} ended with results {build['results']} "
            f"({build['state_string']}); see http://localhost:{www_port}/api/v2/builds/"
            f"{build['buildid']}/steps"
        )
    base = f"http://localhost:{www_port}/api/v2"
    ui = f"http://localhost:{www_port}/"
    print(f"build {build['number']} of builder 'demo': {build['state_string']}")
    print(f"  web UI:  {ui}#/builders/{build['builderid']}/builds/{build['number']}")
    print(f"  builds:  {base}/builders/demo/builds")
    print(f"  steps:   {base}/builds/{build['buildid']}/steps")
    print(f"  test log: {base}/builds/{build['buildid']}/steps/test/logs/stdio/raw")
    print("stop it with: make demo-stop")


if __name__ == "__main__":
    main()
