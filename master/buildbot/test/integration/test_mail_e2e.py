"""MailNotifier end to end: a real build on a real master mails real SMTP servers.

The servers are Twisted's ESMTP server classes listening on 127.0.0.1 in the test
process: one plain, one that offers STARTTLS and requires AUTH, one speaking TLS from
the first byte (SMTPS) with AUTH. Their certificate is made here for "localhost"; the
notifiers in master.cfg trust it through a small subclass.
"""

from __future__ import annotations

import datetime
import email
import os
from email import policy
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.cred import checkers, credentials, portal
from twisted.internet import defer, protocol, reactor, ssl
from twisted.mail import smtp
from twisted.trial import unittest
from zope.interface import implementer

from buildbot.process.results import FAILURE
from buildbot.reporters import mail
from buildbot.test.util.e2emaster import RealMasterMixin, our_worker_bin

USER, PASSWORD = b"bot", b"smtp-pass"


def make_cert(directory: str) -> tuple[str, bytes]:
    """A self-signed certificate for localhost: (path of its PEM, key+cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    path = os.path.join(directory, "smtp-cert.pem")
    with open(path, "wb") as f:
        f.write(cert_pem)
    return path, key_pem + cert_pem


@implementer(smtp.IMessage)
class _Message:
    def __init__(self, server: SMTPServer, record: dict[str, Any]) -> None:
        self.server = server
        self.record = record
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> defer.Deferred:
        self.record["data"] = b"\n".join(self.lines) + b"\n"
        self.server.received.append(self.record)
        return defer.succeed(None)

    def connectionLost(self) -> None:
        pass


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, server: SMTPServer, user: bytes | None) -> None:
        self.server = server
        self.user = user
        self.origin: str | None = None

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: by the test server"

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        self.origin = str(origin)
        return origin

    def validateTo(self, user: Any) -> Any:
        record = {"from": self.origin, "to": str(user.dest), "auth": self.user}
        return lambda: _Message(self.server, record)


@implementer(portal.IRealm)
class _Realm:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        if smtp.IMessageDelivery in interfaces:
            return smtp.IMessageDelivery, _Delivery(self.server, avatarId), lambda: None
        raise NotImplementedError(interfaces)


class SMTPServer(protocol.ServerFactory):
    """Twisted's ESMTP server: with `tls`, it offers STARTTLS; with `auth`, it takes
    only authenticated senders (USER/PASSWORD)."""

    def __init__(self, tls: Any = None, auth: bool = False) -> None:
        self.tls = tls
        self.auth = auth
        self.received: list[dict[str, Any]] = []
        self.portal: portal.Portal | None = None
        if auth:
            db = checkers.InMemoryUsernamePasswordDatabaseDontUse(**{USER.decode(): PASSWORD})
            self.portal = portal.Portal(_Realm(self), [db])

    def buildProtocol(self, addr: Any) -> smtp.ESMTP:
        challengers = {b"LOGIN": smtp.LOGINCredentials}
        p = smtp.ESMTP(chal=challengers, contextFactory=self.tls)
        p.factory = self
        p.host = b"localhost"
        if self.portal is not None:
            p.portal = self.portal
        else:
            p.delivery = _Delivery(self, None)
        return p

    def messages(self) -> list[tuple[dict[str, Any], email.message.EmailMessage]]:
        return [
            (r, email.message_from_bytes(r["data"], policy=policy.default))  # type: ignore[misc]
            for r in self.received
        ]


assert credentials  # the cred package provides the credential interfaces the checkers use

MASTER_CFG = """\
from twisted.internet import ssl
from buildbot.plugins import reporters, schedulers, steps, util, worker
from buildbot.reporters.mail import MailNotifier

CERT = {cert!r}

class TrustingMailNotifier(MailNotifier):
    # trusts the test servers' self-signed certificate
    def _tls_options(self):
        with open(CERT, 'rb') as f:
            trust = ssl.Certificate.loadPEM(f.read())
        return ssl.optionsForClientTLS(self.relayhost, trustRoot=trust)

c = BuildmasterConfig = {{}}
c['db'] = {{'db_url': 'sqlite:///state.sqlite'}}
c['protocols'] = {{'pb': {{'port': 'tcp:{port}:interface=127.0.0.1'}}}}
c['workers'] = [worker.Worker('w1', 'w1-secret')]
c['buildbotURL'] = 'http://localhost:8010/'
c['title'] = 'MailTest'
c['builders'] = [
    util.BuilderConfig(name='breaks', workernames=['w1'], factory=util.BuildFactory([
        steps.ShellCommand(name='compile', command='echo compiling-things; exit 2'),
    ])),
]
c['schedulers'] = [schedulers.ForceScheduler(name='force', builderNames=['breaks'])]
c['services'] = [
    MailNotifier('Buildbot <bot@example.org>', relayhost='127.0.0.1', smtpPort={plain},
                 lookup='example.org', extraRecipients=['list@example.org'],
                 extraHeaders={{'X-Builder': util.Interpolate('%(prop:buildername)s')}}),
    TrustingMailNotifier('bot@example.org', name='starttls', relayhost='localhost',
                         smtpPort={starttls}, useTls=True, smtpUser='bot',
                         smtpPassword=util.Interpolate('%(kw:pw)s', pw='smtp-pass'),
                         sendToInterestedUsers=False, extraRecipients=['tls@example.org'],
                         generators=[reporters.BuildStatusGenerator(
                             mode='all', message_formatter=reporters.MessageFormatter(
                                 template='Plain log below.',
                                 subject='logs of {{{{ buildername }}}}',
                                 want_logs_content=True))]),
    TrustingMailNotifier('bot@example.org', name='smtps', relayhost='localhost',
                         smtpPort={smtps}, useSmtps=True, smtpUser='bot', smtpPassword='smtp-pass',
                         sendToInterestedUsers=False, extraRecipients=['ssl@example.org']),
    MailNotifier('bot@example.org', name='badpass', relayhost='127.0.0.1', smtpPort={starttls},
                 smtpUser='bot', smtpPassword='wrong', sendToInterestedUsers=False,
                 extraRecipients=['never@example.org']),
]
"""


class MailE2E(RealMasterMixin, unittest.TestCase):
    def worker_bin(self) -> str:
        return our_worker_bin()

    def listen(self, server: SMTPServer, tls: Any = None) -> int:
        if tls is None:
            port = reactor.listenTCP(0, server, interface="127.0.0.1")
        else:
            port = reactor.listenSSL(0, server, tls, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port.getHost().port

    def master_cfg(self) -> str:
        cert_path, pem = make_cert(self.basedir)
        tls = ssl.PrivateCertificate.loadPEM(pem).options()
        self.plain = SMTPServer()
        self.starttls = SMTPServer(tls=tls, auth=True)
        self.smtps = SMTPServer(auth=True)
        # a refused delivery is retried after 5s, 10s: shorten that here
        self.patch(mail, "SEND_FIRST_DELAY", 0.05)
        return MASTER_CFG.format(
            cert=cert_path,
            port=self.port,
            plain=self.listen(self.plain),
            starttls=self.listen(self.starttls),
            smtps=self.listen(self.smtps, tls=tls),
        )

    async def test_failed_build_mailed(self) -> None:
        _, brids = await self.master.data.control(
            "force",
            {"builderNames": ["breaks"], "reason": "e2e", "owner": "dev"},
            ("forceschedulers", "force"),
        )
        (brid,) = brids.values()
        await self.finished_request(brid)
        (build,) = await self.builds_of(brid)
        self.assertEqual(build["results"], FAILURE)

        async def mailed() -> bool:
            return bool(
                len(self.plain.received) == 2 and self.starttls.received and self.smtps.received
            )

        await self.wait_for("the mails", mailed)

        # the default generators, plain SMTP: the owner through the domain lookup, Cc list
        (r1, msg), (r2, _) = self.plain.messages()
        self.assertEqual(r1["from"], "bot@example.org")
        self.assertEqual({r1["to"], r2["to"]}, {"dev@example.org", "list@example.org"})
        self.assertIsNone(r1["auth"])
        self.assertEqual(msg["From"], "Buildbot <bot@example.org>")
        self.assertEqual(msg["To"], "dev@example.org")
        self.assertEqual(msg["Cc"], "list@example.org")
        self.assertEqual(msg["Subject"], "Buildbot FAILURE in MailTest on breaks")
        self.assertEqual(msg["X-Builder"], "breaks")
        self.assertIsNotNone(msg["Date"])
        self.assertEqual(msg.get_content_type(), "text/html")
        body = msg.get_content()
        self.assertIn("breaks", body)
        self.assertIn(f"http://localhost:8010/#/builders/{build['builderid']}/builds/1", body)

        # STARTTLS and AUTH; the formatter wants log contents: logs are attached
        ((rec, msg),) = self.starttls.messages()
        self.assertEqual((rec["auth"], rec["to"]), (USER, "tls@example.org"))
        self.assertEqual(msg["To"], "tls@example.org")
        self.assertEqual(msg["Subject"], "logs of breaks")
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        parts = list(msg.iter_parts())
        self.assertEqual(parts[0].get_content().strip(), "Plain log below.")
        attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
        self.assertIn("compiling-things", attached["compile.stdio"])

        # SMTPS (TLS from the first byte) and AUTH
        ((rec, msg),) = self.smtps.messages()
        self.assertEqual((rec["auth"], rec["to"]), (USER, "ssl@example.org"))
        self.assertEqual(msg["Subject"], "Buildbot FAILURE in MailTest on breaks")

        # a wrong password: refused, retried, given up, logged; the build was not touched
        await self.wait_for(
            "the bad password to be given up",
            self._gave_up,
        )
        self.assertEqual(
            [r["to"] for r in self.starttls.received + self.plain.received].count(
                "never@example.org"
            ),
            0,
        )

    async def _gave_up(self) -> bool:
        return any("giving up" in m and "never@example.org" in m for m in self.messages)
