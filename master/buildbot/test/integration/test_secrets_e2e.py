"""Secrets end to end: a real master reading secrets from files, a real worker printing
them; nothing a build shows (logs, summaries, properties) may hold them."""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web import resource, server

from buildbot.process.results import FAILURE, SUCCESS
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin

TOKEN = "tok-5ecret-e2e-value"
KEY = "-----BEGIN KEY-----\nAAAA1234zz\n-----END KEY-----"

MASTER_CFG = """\
import sys
from buildbot.plugins import reporters, schedulers, secrets, steps, util, worker

PY = sys.executable
c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['secretsProviders'] = [secrets.SecretInAFile(dirname={secrets_dir!r})]

# prints the token in two pieces, a pause between them
SPLIT = (
    "import os, sys, time\\n"
    "t = os.environ['TOK']\\n"
    "sys.stdout.write('A ' + t[:5]); sys.stdout.flush()\\n"
    "time.sleep(1.5)\\n"
    "print(t[5:] + ' B')\\n"
)

used = [
    steps.ShellCommand(
        name='single',
        command=util.Interpolate('echo single=%(secret:token)s'),
        description=util.Interpolate('deploying with %(secret:token)s'),
        descriptionDone=util.Interpolate('deployed with %(secret:token)s'),
    ),
    steps.ShellCommand(name='multi', command=['printf', '%s\\\\n', util.Secret('key')]),
    steps.ShellCommand(name='split', command=[PY, '-c', SPLIT],
                       env={{'TOK': util.Secret('token')}}),
    steps.SetPropertyFromCommand(name='fromcmd',
                                 command=util.Interpolate('echo %(secret:token)s'),
                                 property='fromcmd'),
    steps.SetProperty(name='setprop', property='direct', value=util.Secret('token')),
    steps.ShellCommand(name='missing', command=util.Interpolate('echo %(secret:nosuch)s')),
]

c['builders'] = [
    util.BuilderConfig(name='secrets', workernames=['w1'], factory=util.BuildFactory(used)),
]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['secrets'])]

# a reporter that sends everything it can about the finished build
everything = reporters.MessageFormatterFunction(
    lambda ctx: ctx['build'], 'json', want_properties=True, want_steps=True,
    want_logs=True, want_logs_content=True)
c['services'] = [reporters.HttpStatusPush(
    serverUrl='http://127.0.0.1:{http_port}/hook',
    generators=[reporters.BuildStatusGenerator(mode='all', message_formatter=everything)])]
"""


class Recorder(resource.Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def render_POST(self, request: Any) -> bytes:
        self.bodies.append(request.content.read())
        return b"ok"


class SecretsE2E(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def master_cfg(self) -> str:
        secrets_dir = os.path.join(self.basedir, "secrets")
        os.makedirs(secrets_dir)
        for name, value in (("token", TOKEN + "\n"), ("key", KEY + "\n")):
            path = os.path.join(secrets_dir, name)
            with open(path, "w") as f:
                f.write(value)
            os.chmod(path, 0o600)
        self.recorder = Recorder()
        listening = reactor.listenTCP(0, server.Site(self.recorder), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        return MASTER_CFG.format(
            port=self.port, secrets_dir=secrets_dir, http_port=listening.getHost().port
        )

    async def run_build(self) -> dict[str, Any]:
        _, brids = await self.master.data.control(
            "force", {"builderNames": ["secrets"], "reason": "e2e"}, ("forceschedulers", "force")
        )
        (brid,) = brids.values()
        await self.finished_request(brid)
        (build,) = await self.builds_of(brid)
        return build

    def assertClean(self, text: str, where: str) -> None:
        for piece in (TOKEN, "AAAA1234zz", TOKEN[5:]):
            self.assertNotIn(piece, text, f"a secret in {where}: {text!r}")

    async def test_secrets_are_used_and_never_shown(self) -> None:
        build = await self.run_build()
        steps = await self.steps(build)
        results = {name: s["results"] for name, s in steps.items()}
        self.assertEqual(
            results,
            {
                "worker_preparation": SUCCESS,
                "single": SUCCESS,
                "multi": SUCCESS,
                "split": SUCCESS,
                "fromcmd": SUCCESS,
                "setprop": SUCCESS,
                "missing": FAILURE,
            },
        )
        self.assertEqual(build["results"], FAILURE)

        # logs: the values were really used (the worker printed them), and replaced
        single = await self.log_text(steps["single"])
        self.assertIn("osingle=<token>\n", single)
        self.assertIn("<key>", await self.log_text(steps["multi"]))
        split = await self.log_text(steps["split"])
        self.assertIn("oA <token> B\n", split)
        self.assertIn("TOK=<token>", split)  # the environment in the header
        for step in steps.values():
            logs = await self.master.data.get(("steps", step["stepid"], "logs"))
            for lg in logs:
                text = await self.log_text(step, lg["name"])
                self.assertClean(text, f"log {lg['name']!r} of {step['name']!r}")
            self.assertClean(step["state_string"], f"state of {step['name']!r}")

        # summaries
        self.assertEqual(steps["single"]["state_string"], "deployed with <token>")
        self.assertIn("'nosuch'", steps["missing"]["state_string"])
        err = await self.log_text(steps["missing"], "err.text")
        self.assertIn("'nosuch'", err)
        self.assertNotIn("Traceback", err)
        build = await self.master.data.get(("builds", build["buildid"]))
        self.assertClean(build["state_string"], "the build's state")
        self.assertIn("nosuch", build["state_string"])

        # properties, as the data API serves them, and the database file itself
        props = await self.props(build)
        self.assertEqual(props["direct"], "<token>")
        self.assertEqual(props["fromcmd"], "<token>")
        self.assertClean(repr(props), "the properties")
        with open(os.path.join(self.basedir, "state.sqlite"), "rb") as f:
            raw = f.read()
        self.assertNotIn(TOKEN.encode(), raw)

        # a reporter's message, with properties, steps and the logs' content
        await self.wait_for("the reporter's message", lambda: self.recorder.bodies)
        report = b"".join(self.recorder.bodies).decode()
        self.assertIn("osingle=<token>", report)
        self.assertIn('"direct"', report)
        self.assertClean(report, "the reporter's message")
