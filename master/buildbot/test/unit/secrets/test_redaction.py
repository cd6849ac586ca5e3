"""Secrets used by a build never leave it: logs, summaries, properties."""

from __future__ import annotations

from types import SimpleNamespace

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.process.build import Build
from buildbot.process.buildstep import BuildStep
from buildbot.process.log import Log
from buildbot.process.properties import Interpolate, Properties, Secret
from buildbot.process.remotecommand import RemoteCommand
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.secrets.manager import SecretManager
from buildbot.secrets.providers.base import SecretProviderBase
from buildbot.steps.shell import SetPropertyFromCommand, ShellCommand
from buildbot.test.steps import BUILDID, StepTestMixin

TOKEN = "tok-5ecret-value"
MULTI = "-----BEGIN KEY-----\nAAAA1234\n-----END KEY-----"


class DictProvider(SecretProviderBase):
    def reconfigService(self, secrets):  # type: ignore[override]
        self.secrets = dict(secrets)
        return defer.succeed(None)

    def get(self, entry):
        return defer.succeed(self.secrets.get(entry))


class PropertiesScrubbingTests(unittest.TestCase):
    def setUp(self):
        self.props = Properties()
        self.props.useSecret(TOKEN, "token")
        self.props.useSecret(MULTI, "key")

    def test_values(self):
        value = {"a": [TOKEN, 3, (f"x{TOKEN}",)], TOKEN: None, "m": MULTI}
        self.assertEqual(
            self.props.cleanupValueFromSecrets(value),
            {"a": ["<token>", 3, ("x<token>",)], "<token>": None, "m": "<key>"},
        )
        self.assertEqual(Properties().cleanupValueFromSecrets([TOKEN]), [TOKEN])

    def test_escaped_forms(self):
        # the worker shows argv as Python reprs: a multi-line secret with escaped line ends
        shown = f"argv: {[MULTI]!r} {[MULTI.encode()]!r}"
        self.assertEqual(self.props.cleanupTextFromSecrets(shown), "argv: ['<key>'] [b'<key>']")

    def test_holdback(self):
        hold = self.props.secretHoldback
        self.assertEqual(hold("plain\n"), 6)
        # the end may begin the multi-line secret: the whole line waits
        self.assertEqual(hold("a\nsay -----BEGIN KEY-----\n"), 2)
        self.assertEqual(hold("-----BEGIN KEY-----\nAAAA1234\n"), 0)
        self.assertEqual(hold("-----BEGIN KEY-----\nAAAA1234\n-----END KEY-----\n"), 47)


class LogScrubbingTests(StepTestMixin, unittest.TestCase):
    async def setUp(self):
        await self.setup_step_test()
        self.props = self.build.properties
        self.props.useSecret(TOKEN, "token")
        self.props.useSecret(MULTI, "key")

    async def make_log(self, type="s"):
        self.setup_step(BuildStep())
        await self.step.addStep()
        lg = await self.step.addLog("stdio", type)
        self.seen = []
        lg.subscribe(lambda stream, lines: self.seen.append(lines))
        return lg

    async def text(self, lg):
        got = await self.master.data.get(("logs", lg.logid, "contents"))
        return got["content"]

    async def test_secret_split_across_chunks(self):
        lg = await self.make_log()
        await lg.addStdout("A tok-5ec")
        self.reactor.advance(1)
        await lg.addStdout("ret-value B\n")
        await lg.addStderr(f"err {TOKEN}\n")
        await lg.addHeader(f"{TOKEN}")
        await lg.finish()
        self.assertEqual(await self.text(lg), "oA <token> B\neerr <token>\nh<token>\n")
        self.assertNotIn(TOKEN, "".join(s for s in self.seen if s))

    async def test_multi_line_secret_line_by_line(self):
        lg = await self.make_log()
        for line in ["before\n", "key: -----BEGIN KEY-----\n", "AAAA1234\n"]:
            await lg.addStdout(line)
            self.reactor.advance(1)
        self.assertEqual(await self.text(lg), "obefore\n")  # the rest waits
        await lg.addStdout("-----END KEY-----\nafter\n")
        await lg.finish()
        self.assertEqual(await self.text(lg), "obefore\nokey: <key>\noafter\n")

    async def test_held_lines_that_were_no_secret_come_out_at_the_end(self):
        lg = await self.make_log()
        await lg.addStdout("-----BEGIN KEY-----\n")
        await lg.add_stdout_lines("whole\n")
        await lg.addStdout("-----BEGIN KEY-----\nAAAA1234\n")
        await lg.addStdout("partial")
        await lg.finish()
        self.assertEqual(
            await self.text(lg),
            "o-----BEGIN KEY-----\nowhole\no-----BEGIN KEY-----\noAAAA1234\nopartial\n",
        )

    async def test_plain_logs_raw_lines_and_whole_logs(self):
        lg = await self.make_log("t")
        await lg.addContent(f"x {MULTI} y\n")
        await lg.addRawLines([f"{TOKEN}\n"])
        await lg.finish()
        self.assertEqual(await self.text(lg), "x <key> y\n<token>\n")
        await self.step.addCompleteLog("complete", f"was {TOKEN}")
        self.assertEqual(await self.text(self.step.logs["complete"]), "was <token>\n")

    async def test_log_without_scrubber_is_untouched(self):
        logid = await self.updates.addLog(1, "raw", "s")
        self.assertIsNotNone(Log.new(self.master, "raw", "s", logid))


class StepTests(StepTestMixin, unittest.TestCase):
    async def setUp(self):
        await self.setup_step_test()
        self.manager = SecretManager()
        await self.manager.setServiceParent(self.master)
        self.master.secrets_manager = self.manager
        await self.manager.startService()
        self.addCleanup(self.manager.stopService)
        await self.manager.reconfigServiceWithBuildbotConfig(
            SimpleNamespace(secretsProviders=[DictProvider({"token": TOKEN, "key": MULTI})])
        )

    async def test_command_output_and_description(self):
        self.setup_step(
            ShellCommand(
                command=Interpolate("echo %(secret:token)s"),
                env={"KEY": Secret("key")},
                description=Interpolate("using %(secret:token)s"),
                descriptionDone=Interpolate("used %(secret:token)s"),
            )
        )
        self.conn.expect(
            "shell",
            {"command": f"echo {TOKEN}"},
            updates=[
                {"header": f"running echo {TOKEN}\n"},
                {"stdout": TOKEN[:5]},
                {"stdout": TOKEN[5:] + "\n"},
                {"stdout": MULTI + "\n"},
            ],
        )
        results = await self.run_step()
        self.assertEqual(results, SUCCESS, self.flushLoggedErrors())
        stdio = await self.log_text("stdio")
        self.assertNotIn(TOKEN, stdio)
        self.assertNotIn("AAAA1234", stdio)
        self.assertIn("hrunning echo <token>\n", stdio)
        self.assertIn("o<token>\no<key>\n", stdio)
        self.assertEqual((await self.step_row())["state_string"], "used <token>")
        self.step._running = True  # the summary shown while it runs
        self.assertEqual(await self.step._summary_text(), "using <token>")

    async def test_property_from_command_output(self):
        self.setup_step(
            SetPropertyFromCommand(command=Interpolate("echo %(secret:token)s"), property="got")
        )
        self.conn.expect("shell", {}, updates=[{"stdout": TOKEN[:5]}, {"stdout": TOKEN[5:] + "\n"}])
        self.assertEqual(await self.run_step(), SUCCESS)
        # the collected output is scrubbed whole: the property holds no secret
        self.assertEqual(self.build.getProperty("got"), "<token>")

    async def test_missing_secret_fails_the_step_with_a_clear_message(self):
        self.setup_step(ShellCommand(command=["echo", Secret("nosuch")]))
        self.assertEqual(await self.run_step(), FAILURE)
        row = await self.step_row()
        self.assertIn("'nosuch'", row["state_string"])
        self.assertIn("(failure)", row["state_string"])
        err = await self.log_text("err.text")
        self.assertIn("'nosuch'", err)
        self.assertNotIn("Traceback", err)
        self.assertIn("nosuch", (await self.step.getBuildResultSummary())["build"])
        self.flushLoggedErrors()

    async def test_step_urls_and_names(self):
        class Urls(BuildStep):
            async def run(self):
                self.build.properties.useSecret(TOKEN, "token")
                await self.addURL(f"u {TOKEN}", f"http://x/{TOKEN}")
                return SUCCESS

        self.setup_step(Urls())
        await self.run_step()
        urls = (await self.step_row())["urls"]
        self.assertEqual(urls, [{"name": "u <token>", "url": "http://x/<token>"}])

    async def test_remote_command_without_step(self):
        cmd = RemoteCommand("shell", {}, collectStdout=True, collectStderr=True)
        cmd.addStdout(b"out")
        cmd.addStderr("err")
        self.assertEqual((cmd.stdout, cmd.stderr), ("out", "err"))
        cmd.stdout = ""
        cmd.stderr = ""
        self.assertEqual((cmd.stdout, cmd.stderr), ("", ""))


class BuildPropertiesTests(StepTestMixin, unittest.TestCase):
    async def setUp(self):
        await self.setup_step_test()

    async def test_properties_scrubbed_before_they_are_stored(self):
        build = Build([])
        build.master = self.master
        build.buildid = BUILDID
        build.properties.useSecret(TOKEN, "token")
        build.setProperty("p", f"is {TOKEN}", "Step")
        build.setProperty("l", [TOKEN, 1], "Step")
        build.setProperty("plain", "x", "Step")
        await build._store_properties()
        stored = await self.master.data.get(("builds", BUILDID, "properties"))
        self.assertEqual(stored["p"], ("is <token>", "Step"))
        self.assertEqual(stored["l"], (["<token>", 1], "Step"))
        self.assertEqual(stored["plain"], ("x", "Step"))
        # in memory, the build still has the value to use
        self.assertEqual(build.getProperty("p"), f"is {TOKEN}")
        calls = len(self.updates.callsTo("setBuildProperties"))
        await build._store_properties()  # nothing changed: no write
        self.assertEqual(len(self.updates.callsTo("setBuildProperties")), calls)

    def test_state_string_and_text(self):
        build = Build([])
        build.properties.useSecret(TOKEN, "token")
        build.text = ["x"]
        self.assertEqual(build.getStateString(), "build successful x")
