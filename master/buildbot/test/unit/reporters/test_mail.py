"""MailNotifier: configuration, the MIME message, recipients, and the send path with
the SMTP connection replaced by a recorder (the real ESMTP exchange is in
buildbot.test.integration.test_mail_e2e)."""

from __future__ import annotations

import email
from email import policy
from typing import Any

from twisted.internet import defer
from twisted.python import log
from twisted.trial import unittest
from zope.interface import implementer

from buildbot import config
from buildbot.interfaces import IEmailLookup
from buildbot.process.properties import Interpolate
from buildbot.process.renderables import Secret
from buildbot.process.results import FAILURE
from buildbot.reporters import mail
from buildbot.reporters.mail import Domain, MailNotifier
from buildbot.test.fake.fakemaster import make_master
from buildbot.test.reactor import TestReactorMixin


def config_errors(*args: Any, **kwargs: Any) -> list[str]:
    with config.capture_config_errors() as errors:
        MailNotifier(*args, **kwargs)
    return errors.errors


def parse(msg: Any) -> email.message.EmailMessage:
    # LF line ends, to compare with the reports' text (the wire has CRLF)
    return email.message_from_bytes(msg.as_bytes(policy=policy.default), policy=policy.default)  # type: ignore[return-value]


def report(**kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "body": "Build failed.\n",
        "subject": "Buildbot failure in x on runtests",
        "type": "plain",
        "results": FAILURE,
        "builds": [],
        "users": [],
        "patches": [],
        "logs": [],
        "worker": None,
    }
    r.update(kw)
    return r


class Connect:
    """Stands in for reactor.connectTCP/connectSSL: records each connection attempt;
    the test then fires the factory's Deferred as the SMTP exchange would."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def tcp(self, host: str, port: int, factory: Any, *a: Any, **kw: Any) -> Any:
        self.calls.append({"ssl": None, "host": host, "port": port, "factory": factory})
        return self.connector

    connector: Any = None

    def ssl(self, host: str, port: int, factory: Any, ctx: Any, *a: Any, **kw: Any) -> None:
        self.calls.append({"ssl": ctx, "host": host, "port": port, "factory": factory})

    def succeed(self, i: int = -1) -> None:
        f = self.calls[i]["factory"]
        f.result.callback((len(f.toEmail), [(a, 250, b"ok") for a in f.toEmail]))

    def fail(self, i: int = -1, why: str = "refused") -> None:
        self.calls[i]["factory"].result.errback(ConnectionRefusedError(why))


@implementer(IEmailLookup)
class SlowLookup:
    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    def getAddress(self, user: str) -> defer.Deferred:
        if user == "boom":
            return defer.fail(RuntimeError("directory down"))
        return defer.succeed(self.table.get(user))


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values.get(name)


class ConfigTests(unittest.TestCase):
    def test_valid_minimal(self) -> None:
        self.assertEqual(config_errors("bot@example.org", generators=[]), [])

    def test_valid_full(self) -> None:
        errors = config_errors(
            "Buildbot <bot@example.org>",
            relayhost="smtp.example.org",
            lookup="example.org",
            extraRecipients=("dev@example.org", "Ops <ops@example.org>"),
            extraHeaders={"X-Builder": Interpolate("%(prop:buildername)s"), "X-A": "b"},
            useTls=True,
            smtpUser="u",
            smtpPassword=Secret("smtp"),
            smtpPort=587,
            generators=[],
        )
        self.assertEqual(errors, [])

    def test_invalid_fromaddr(self) -> None:
        self.assertIn("fromaddr", config_errors("not an address", generators=[])[0])
        self.assertTrue(config_errors(None, generators=[]))

    def test_invalid_recipients(self) -> None:
        errors = config_errors("a@b.c", extraRecipients="dev@example.org", generators=[])
        self.assertIn("list or tuple", errors[0])
        errors = config_errors("a@b.c", extraRecipients=["ok@x.org", "nope", 3], generators=[])
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("'nope'", errors[0])
        errors = config_errors("a@b.c", extraRecipients=["José <josé@x.org>"], generators=[])
        self.assertIn("not a valid email", errors[0])

    def test_invalid_lookup(self) -> None:
        self.assertIn("IEmailLookup", config_errors("a@b.c", lookup=object(), generators=[])[0])
        self.assertIn("domain", config_errors("a@b.c", lookup="x@y.org", generators=[])[0])
        self.assertEqual(config_errors("a@b.c", lookup=SlowLookup({}), generators=[]), [])

    def test_invalid_headers(self) -> None:
        errors = config_errors("a@b.c", extraHeaders=["X-A"], generators=[])
        self.assertIn("dictionary", errors[0])
        errors = config_errors("a@b.c", extraHeaders={"X:A": "v", 3: "v", "X-B": 4}, generators=[])
        self.assertEqual(len(errors), 3, errors)

    def test_tls_and_port(self) -> None:
        errors = config_errors("a@b.c", useTls=True, useSmtps=True, generators=[])
        self.assertIn("useTls", errors[0])
        self.assertIn("smtpPort", config_errors("a@b.c", smtpPort="25", generators=[])[0])
        self.assertIn("smtpPort", config_errors("a@b.c", smtpPort=70000, generators=[])[0])

    def test_user_without_password(self) -> None:
        self.assertIn("together", config_errors("a@b.c", smtpUser="u", generators=[])[0])

    def test_generators_checked(self) -> None:
        self.assertIn("generators", config_errors("a@b.c", generators="x")[0])
        self.assertIn("not a report generator", config_errors("a@b.c", generators=[1])[0])

    def test_not_collected_raises(self) -> None:
        with self.assertRaises(config.ConfigErrors):
            MailNotifier("bad", generators=[])


class DomainTests(unittest.TestCase):
    def test_get_address(self) -> None:
        d = Domain("example.org")
        self.assertEqual(d.getAddress("joe"), "joe@example.org")
        self.assertEqual(d.getAddress("Joe <joe@else.org>"), "Joe <joe@else.org>")
        self.assertTrue(IEmailLookup.providedBy(d))
        self.assertEqual(Domain("a.org"), Domain("a.org"))
        with self.assertRaises(ValueError):
            Domain("x@y")


class MailTestBase(TestReactorMixin, unittest.TestCase):
    async def make(self, *args: Any, **kwargs: Any) -> MailNotifier:
        self.setup_test_reactor()
        self.master = make_master(self, wantMq=True)
        self.connect = Connect()
        self.reactor.connectTCP = self.connect.tcp  # type: ignore[attr-defined]
        self.reactor.connectSSL = self.connect.ssl  # type: ignore[attr-defined]
        kwargs.setdefault("generators", [])
        self.mn = MailNotifier(*args, **kwargs)
        await self.mn.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)
        self.logged: list[str] = []

        def observe(ev: dict[str, Any]) -> None:
            self.logged.append(log.textFromEventDict(ev) or "")

        log.addObserver(observe)
        self.addCleanup(log.removeObserver, observe)
        return self.mn


class MessageTests(MailTestBase):
    async def test_plain_single_part(self) -> None:
        mn = await self.make("Buildbot <bot@example.org>")
        self.reactor.advance(1_700_000_000)
        msg = parse(await mn.createEmail([report()]))
        self.assertFalse(msg.is_multipart())
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg["From"], "Buildbot <bot@example.org>")
        self.assertEqual(msg["Subject"], "Buildbot failure in x on runtests")
        self.assertEqual(email.utils.parsedate_to_datetime(msg["Date"]).timestamp(), 1_700_000_000)
        self.assertTrue(msg["Message-ID"].endswith("@example.org>"))
        self.assertEqual(msg.get_content(), "Build failed.\n")

    async def test_html_and_unicode(self) -> None:
        mn = await self.make("bot@example.org")
        body = "<p>Échec de la construction — ☃</p>\n"
        msg = await mn.createEmail([report(body=body, type="html", subject="Échec ☃")])
        raw = msg.as_bytes()
        raw.decode("ascii")  # 7-bit clean on the wire
        self.assertIn(b"\r\n", raw)
        got = parse(msg)
        self.assertEqual(got.get_content_type(), "text/html")
        self.assertEqual(got.get_content_charset(), "utf-8")
        self.assertEqual(got.get_content(), body)
        self.assertEqual(got["Subject"], "Échec ☃")

    async def test_unknown_type_is_plain_and_subject_one_line(self) -> None:
        mn = await self.make("bot@example.org")
        msg = parse(await mn.createEmail([report(type="json", subject="a\nb", body=b"x")]))
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg["Subject"], "a b")
        self.assertEqual(msg.get_content(), "x\n")

    async def test_reports_merged(self) -> None:
        mn = await self.make("bot@example.org")
        msg = parse(
            await mn.createEmail(
                [report(body="one\n", subject="first"), report(body="two\n", subject="second")]
            )
        )
        self.assertEqual(msg["Subject"], "first")
        self.assertEqual(msg.get_content(), "one\n\ntwo\n")

    async def test_patches_and_logs_attached(self) -> None:
        mn = await self.make("bot@example.org")
        patches = [
            {"body": b"--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n", "level": 1, "subdir": "."},
            {"body": b"\xff\xfe binary", "level": 1, "subdir": "."},
        ]
        logs = [
            {"name": "stdio", "stepname": "compile",
             "content": {"logid": 1, "content": "cc -c a.c\nerror: ☃\n"}},
            {"name": "stdio", "stepname": "test"},  # no content asked for: not attached
            {"name": "raw", "content": b"bytes log\n"},
        ]  # fmt: skip
        msg = parse(await mn.createEmail([report(patches=patches, logs=logs)]))
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        parts = list(msg.iter_parts())
        self.assertEqual(parts[0].get_content(), "Build failed.\n")
        self.assertIsNone(parts[0].get_content_disposition())
        attached = [(p.get_filename(), p.get_content_type(), p.get_content()) for p in parts[1:]]
        self.assertEqual(
            attached,
            [
                ("source patch", "text/x-diff", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n"),
                ("source patch 2", "application/octet-stream", b"\xff\xfe binary"),
                ("compile.stdio", "text/plain", "cc -c a.c\nerror: ☃\n"),
                ("raw", "text/plain", "bytes log\n"),
            ],
        )
        for p in parts[1:]:
            self.assertEqual(p.get_content_disposition(), "attachment")

    async def test_logs_fetched_for_the_formatter_attached(self) -> None:
        mn = await self.make("bot@example.org")
        stdio = {"logid": 7, "name": "stdio", "stepname": "make", "content": {"content": "x\n"}}
        builds = [
            {
                "buildid": 1,
                "steps": [
                    {"name": "make", "logs": [stdio, {"logid": 8, "name": "err"}]},
                    {"name": "empty"},
                ],
            }
        ]
        # the same log in the report's logs and in the build: attached once
        msg = parse(await mn.createEmail([report(builds=builds, logs=[stdio])]))
        names = [p.get_filename() for p in msg.iter_attachments()]
        self.assertEqual(names, ["make.stdio"])

    async def test_extra_headers_rendered_per_build(self) -> None:
        mn = await self.make(
            "bot@example.org",
            extraHeaders={"X-Builder": Interpolate("%(prop:buildername)s"), "X-Fixed": "yes"},
        )
        builds = [
            {"buildid": 1, "properties": {"buildername": ("linux", "Builder")}},
            {"buildid": 2, "properties": {"buildername": ("mac", "Builder")}},
        ]
        msg = parse(await mn.createEmail([report(builds=builds)]))
        self.assertEqual(msg["X-Builder"], "linux")
        self.assertEqual(msg["X-Fixed"], "yes")
        self.assertTrue(any("keeping 'linux'" in m for m in self.logged), self.logged)

    async def test_extra_headers_without_builds(self) -> None:
        mn = await self.make(
            "bot@example.org", extraHeaders={"X-A": Interpolate("v-%(prop:x:-d)s")}
        )
        msg = parse(await mn.createEmail([report()]))
        self.assertEqual(msg["X-A"], "v-d")

    async def test_extra_headers_secret(self) -> None:
        mn = await self.make("bot@example.org", extraHeaders={"X-Token": Secret("tok")})
        self.master.secrets_manager = FakeSecrets({"tok": "s3"})
        msg = parse(await mn.createEmail([report()]))
        self.assertEqual(msg["X-Token"], "s3")


class RecipientTests(MailTestBase):
    async def recipients(self, mn: MailNotifier, **kw: Any) -> tuple[list[str], Any]:
        msg = await mn.createEmail([report(**kw)])
        rcpts = await mn.findRecipients([report(**kw)], msg)
        return rcpts, parse(msg)

    async def test_interested_users_through_domain(self) -> None:
        mn = await self.make("bot@example.org", lookup="example.org",
                             extraRecipients=["list@example.org"])  # fmt: skip
        rcpts, msg = await self.recipients(mn, users=["joe", "Ann <ann@else.org>", "joe"])
        self.assertEqual(rcpts, ["joe@example.org", "ann@else.org", "list@example.org"])
        self.assertEqual(msg["To"], "Ann <ann@else.org>, joe@example.org")
        self.assertEqual(msg["Cc"], "list@example.org")

    async def test_lookup_object_with_deferreds(self) -> None:
        lookup = SlowLookup({"joe": "joe@corp.org", "nobody": "not-an-address"})
        mn = await self.make("bot@example.org", lookup=lookup)
        rcpts, msg = await self.recipients(mn, users=["joe", "nobody", "ghost", "boom"])
        self.assertEqual(rcpts, ["joe@corp.org"])
        self.assertEqual(msg["To"], "joe@corp.org")
        self.assertTrue(any("directory down" in m for m in self.logged))
        self.assertTrue(any("'nobody'" in m for m in self.logged))

    async def test_no_lookup_takes_addresses(self) -> None:
        mn = await self.make("bot@example.org")
        rcpts, _ = await self.recipients(mn, users=["Joe <joe@x.org>", "bare-name"])
        self.assertEqual(rcpts, ["joe@x.org"])

    async def test_extra_recipient_already_interested(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["Joe <joe@x.org>"])
        rcpts, msg = await self.recipients(mn, users=["joe@x.org"])
        self.assertEqual(rcpts, ["joe@x.org"])
        self.assertIsNone(msg["Cc"])

    async def test_not_to_interested_users(self) -> None:
        mn = await self.make("bot@example.org", sendToInterestedUsers=False,
                             extraRecipients=["b@x.org", "a@x.org"])  # fmt: skip
        rcpts, msg = await self.recipients(mn, users=["joe@x.org"])
        self.assertEqual(sorted(rcpts), ["a@x.org", "b@x.org"])
        self.assertEqual(msg["To"], "a@x.org, b@x.org")
        self.assertIsNone(msg["Cc"])

    async def test_missing_worker_notify(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["ops@x.org"])
        rcpts, msg = await self.recipients(mn, worker="w1", users=["admin@x.org", "junk"])
        self.assertEqual(rcpts, ["admin@x.org", "ops@x.org"])
        self.assertEqual(msg["To"], "admin@x.org")
        self.assertEqual(msg["Cc"], "ops@x.org")
        self.assertTrue(any("'junk'" in m for m in self.logged))

    async def test_missing_worker_without_interested_users(self) -> None:
        mn = await self.make("bot@example.org", sendToInterestedUsers=False, lookup="x.org")
        rcpts, msg = await self.recipients(mn, worker="w1", users=["admin@y.org"])
        self.assertEqual(rcpts, ["admin@y.org"])


class SendTests(MailTestBase):
    async def test_send_plain(self) -> None:
        mn = await self.make("Buildbot <bot@example.org>", relayhost="mx.example.org",
                             smtpPort=2525, extraRecipients=["list@example.org"])  # fmt: skip
        d = defer.ensureDeferred(mn.sendMessage([report(users=["joe@x.org"])]))
        (call,) = self.connect.calls
        self.assertEqual((call["host"], call["port"], call["ssl"]), ("mx.example.org", 2525, None))
        f = call["factory"]
        self.assertEqual(f.fromEmail.addrstr, b"bot@example.org")  # envelope: bare address
        self.assertEqual(f.toEmail, [b"joe@x.org", b"list@example.org"])
        self.assertFalse(f._requireAuthentication)
        self.assertFalse(f._requireTransportSecurity)
        self.assertIsNone(f._contextFactory)
        self.assertEqual(f.retries, 0)
        sent = email.message_from_bytes(f.file.getvalue(), policy=policy.default)
        self.assertEqual(sent["To"], "joe@x.org")
        self.assertEqual(sent["Cc"], "list@example.org")
        self.connect.succeed()
        await d
        self.assertTrue(any("MailNotifier: sent mail" in m for m in self.logged))

    async def test_protocol_timeout_on_master_clock(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"])
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        f = self.connect.calls[0]["factory"]
        p = f.buildProtocol(None)
        self.assertEqual(p.timeout, mail.SMTP_TIMEOUT)
        self.assertEqual(p.callLater, self.reactor.callLater)
        self.connect.succeed()
        await d

    async def test_no_recipients_nothing_sent(self) -> None:
        mn = await self.make("bot@example.org")
        await mn.sendMessage([report(users=["nobody"])])
        self.assertEqual(self.connect.calls, [])
        self.assertTrue(any("no recipients" in m for m in self.logged))

    async def test_auth_with_secrets(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"],
                             smtpUser="bot", smtpPassword=Secret("smtp-pw"))  # fmt: skip
        self.master.secrets_manager = FakeSecrets({"smtp-pw": "hunter2"})
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        f = self.connect.calls[0]["factory"]
        self.assertEqual((f.username, f.password), (b"bot", b"hunter2"))
        self.assertTrue(f._requireAuthentication)
        self.connect.succeed()
        await d

    async def test_starttls(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"], useTls=True,
                             relayhost="mx.example.org")  # fmt: skip
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        call = self.connect.calls[0]
        self.assertIsNone(call["ssl"])
        f = call["factory"]
        self.assertTrue(f._requireTransportSecurity)
        self.assertIsNotNone(f._contextFactory)
        self.assertEqual(f._contextFactory._hostname, "mx.example.org")
        self.connect.succeed()
        await d

    async def test_smtps(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"], useSmtps=True,
                             relayhost="mx.example.org", smtpPort=465)  # fmt: skip
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        call = self.connect.calls[0]
        self.assertEqual(call["port"], 465)
        self.assertEqual(call["ssl"]._hostname, "mx.example.org")
        self.assertIsNone(call["factory"]._contextFactory)  # TLS from the first byte
        self.assertFalse(call["factory"]._requireTransportSecurity)
        self.connect.succeed()
        await d

    async def test_retried_with_backoff(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"])
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        self.connect.fail()
        self.assertEqual(len(self.connect.calls), 1)
        self.reactor.advance(mail.SEND_FIRST_DELAY)
        self.assertEqual(len(self.connect.calls), 2)
        self.connect.fail()
        self.reactor.advance(mail.SEND_FIRST_DELAY * 2 - 0.1)
        self.assertEqual(len(self.connect.calls), 2)
        self.reactor.advance(0.1)
        self.assertEqual(len(self.connect.calls), 3)
        # each attempt sends the whole message again
        first, last = (c["factory"].file.getvalue() for c in self.connect.calls[::2])
        self.assertEqual(first, last)
        self.connect.succeed()
        await d
        self.assertTrue(any("retrying in" in m for m in self.logged))

    async def test_gives_up_and_logs(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"])
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        for delay in [mail.SEND_FIRST_DELAY, mail.SEND_FIRST_DELAY * 2, None]:
            self.connect.fail(why="mx down")
            if delay:
                self.reactor.advance(delay)
        await d  # never raises
        self.assertEqual(len(self.connect.calls), mail.SEND_TRIES)
        self.assertTrue(any("giving up" in m and "mx down" in m for m in self.logged))

    async def test_dump_mails_to_log(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"], dumpMailsToLog=True)
        d = defer.ensureDeferred(mn.sendMessage([report(body="dumped body\n")]))
        self.connect.succeed()
        await d
        self.assertTrue(any("dumped body" in m and "['a@x.org']" in m for m in self.logged))

    async def test_reconfig_takes_new_relay(self) -> None:
        mn = await self.make("bot@example.org", relayhost="old.example.org",
                             extraRecipients=["a@x.org"])  # fmt: skip
        sibling = MailNotifier("bot2@example.org", relayhost="new.example.org", smtpPort=26,
                               extraRecipients=["b@x.org"], generators=[])  # fmt: skip
        await mn.reconfigServiceWithSibling(sibling)
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        call = self.connect.calls[0]
        self.assertEqual((call["host"], call["port"]), ("new.example.org", 26))
        self.assertEqual(call["factory"].toEmail, [b"b@x.org"])
        self.assertEqual(call["factory"].fromEmail.addrstr, b"bot2@example.org")
        self.connect.succeed()
        await d


class FakeConnector:
    def __init__(self, connect: Connect) -> None:
        self.connect = connect
        self.disconnected = 0

    def disconnect(self) -> None:
        self.disconnected += 1
        self.connect.fail(why="cut")


class StopTests(MailTestBase):
    async def test_stop_cuts_sessions_in_flight(self) -> None:
        mn = await self.make("bot@example.org", extraRecipients=["a@x.org"])
        self.connect.connector = connector = FakeConnector(self.connect)
        d = defer.ensureDeferred(mn.sendMessage([report()]))
        self.assertEqual(mn._connectors, {connector})
        stopped = mn.stopService()
        self.assertEqual(connector.disconnected, 1)
        self.reactor.advance(mail.SEND_FIRST_DELAY)  # the backoff wait still runs out
        await d
        await stopped
        self.assertEqual(len(self.connect.calls), 1)  # no new attempt
        self.assertEqual(mn._connectors, set())
        self.assertTrue(any("not sent, the master stops" in m for m in self.logged))
        await mn.startService()
        self.assertFalse(mn._stopping)


class DefaultsTests(MailTestBase):
    async def test_default_generators(self) -> None:
        from buildbot.reporters.generators.buildset import BuildSetStatusGenerator
        from buildbot.reporters.generators.worker import WorkerMissingGenerator

        mn = await self.make("bot@example.org", generators=None)
        kinds = [type(g) for g in mn.generators]
        self.assertEqual(kinds, [BuildSetStatusGenerator, WorkerMissingGenerator])
        bs = mn.generators[0]
        self.assertEqual(sorted(bs.mode), sorted(["failing", "passing", "warnings"]))
        self.assertTrue(bs.add_patch)
        # the subscriptions follow the generators
        self.assertTrue(mn._event_consumers)
