"""MailNotifier: build and worker reports sent as email over (E)SMTP.

The generators make the reports; this module turns them into one MIME message
(body, patches and logs as attachments, extra headers rendered against the build's
properties), picks the recipients (interested users through `lookup`, the extra
recipients, a missing worker's `notify` list) and hands the message to Twisted's
ESMTP client: plain, STARTTLS (`useTls`) or implicit TLS (`useSmtps`), with AUTH
when a user and password are given. A failed delivery is retried with backoff
and then logged; it never touches the build.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from io import BytesIO
from typing import Any

from twisted.internet import defer
from twisted.python import log
from zope.interface import implementer

from buildbot import config
from buildbot.interfaces import IEmailLookup, IRenderable
from buildbot.process.properties import Properties
from buildbot.reporters.base import ReporterBase, retry_with_backoff
from buildbot.util import ComparableMixin, bytes2unicode, service

# an ASCII addr-spec (Twisted's SMTP client speaks no SMTPUTF8): local@domain
VALID_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")

SEND_TRIES = 3
SEND_FIRST_DELAY = 5.0
_STOPPED = object()  # what a send attempt returns once the master stops
# seconds without progress before an SMTP session is given up
SMTP_TIMEOUT = 120


def bare_address(addr: str) -> str | None:
    """The addr-spec of `addr` ('Name <a@b>' or 'a@b'), or None if it is not one."""
    _, spec = parseaddr(addr)
    return spec if VALID_EMAIL.match(spec) else None


@implementer(IEmailLookup)
class Domain(ComparableMixin):
    """Turns a user name into `name@domain`; names that are addresses pass through."""

    compare_attrs = ("domain",)

    def __init__(self, domain: str) -> None:
        if "@" in domain:
            raise ValueError(f"Domain: {domain!r} is a domain, it must not contain '@'")
        self.domain = domain

    def getAddress(self, name: str) -> str:
        if "@" in name:
            return name
        return f"{name}@{self.domain}"


def _merge(reports: list[dict[str, Any]], key: str) -> list[Any]:
    out: list[Any] = []
    for r in reports:
        value = r.get(key)
        if value is None:
            continue
        if isinstance(value, (list, tuple, set)):
            out.extend(v for v in value if v not in out)
        elif value not in out:
            out.append(value)
    return out


def _first(reports: list[dict[str, Any]], key: str) -> Any:
    for r in reports:
        if r.get(key) is not None:
            return r[key]
    return None


class MailNotifier(ReporterBase):
    """Sends each report as an email; see the module docstring."""

    _stopping = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connectors: set[Any] = set()
        super().__init__(*args, **kwargs)

    def checkConfig(
        self,
        fromaddr: str,
        relayhost: str = "localhost",
        lookup: Any = None,
        extraRecipients: Any = None,
        sendToInterestedUsers: bool = True,
        extraHeaders: Any = None,
        useTls: bool = False,
        useSmtps: bool = False,
        smtpUser: Any = None,
        smtpPassword: Any = None,
        smtpPort: int = 25,
        dumpMailsToLog: bool = False,
        generators: list[Any] | None = None,
    ) -> None:
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators)

        if not isinstance(fromaddr, str) or bare_address(fromaddr) is None:
            config.error(f"MailNotifier: fromaddr must be a valid email address, not {fromaddr!r}")
        if not isinstance(relayhost, str) or not relayhost:
            config.error(f"MailNotifier: relayhost must be a host name, not {relayhost!r}")
        if extraRecipients is not None:
            if not isinstance(extraRecipients, (list, tuple)):
                config.error("MailNotifier: extraRecipients must be a list or tuple")
            else:
                for r in extraRecipients:
                    if not isinstance(r, str) or bare_address(r) is None:
                        config.error(f"MailNotifier: extra recipient {r!r} is not a valid email")
        if lookup is not None and not isinstance(lookup, str):
            if not IEmailLookup.providedBy(lookup):
                config.error(
                    "MailNotifier: lookup must be a domain string or provide IEmailLookup "
                    f"(getAddress), not {lookup!r}"
                )
        elif isinstance(lookup, str) and ("@" in lookup or not lookup):
            config.error(f"MailNotifier: lookup {lookup!r} must be a domain like 'example.org'")
        if extraHeaders is not None:
            if not isinstance(extraHeaders, dict) and not IRenderable.providedBy(extraHeaders):
                config.error("MailNotifier: extraHeaders must be a dictionary")
            elif isinstance(extraHeaders, dict):
                for k, v in extraHeaders.items():
                    if not isinstance(k, str) or not k or ":" in k:
                        config.error(f"MailNotifier: extraHeaders key {k!r} must be a header name")
                    if not isinstance(v, str) and not IRenderable.providedBy(v):
                        config.error(
                            f"MailNotifier: extraHeaders value for {k!r} must be a string "
                            "or a renderable"
                        )
        if useTls and useSmtps:
            config.error(
                "MailNotifier: useTls (STARTTLS) and useSmtps (implicit TLS) exclude each other"
            )
        if not isinstance(smtpPort, int) or isinstance(smtpPort, bool) or not 0 < smtpPort < 65536:
            config.error(f"MailNotifier: smtpPort must be a port number, not {smtpPort!r}")
        if (smtpUser is None) != (smtpPassword is None):
            config.error("MailNotifier: smtpUser and smtpPassword go together")
        if useTls or useSmtps or smtpUser is not None:
            try:
                import OpenSSL  # noqa: F401
            except ImportError:  # pragma: no cover - pyOpenSSL is a dependency here
                config.error("MailNotifier: TLS and SMTP AUTH need pyOpenSSL (twisted[tls])")

    async def reconfigService(  # type: ignore[override]
        self,
        fromaddr: str,
        relayhost: str = "localhost",
        lookup: Any = None,
        extraRecipients: Any = None,
        sendToInterestedUsers: bool = True,
        extraHeaders: Any = None,
        useTls: bool = False,
        useSmtps: bool = False,
        smtpUser: Any = None,
        smtpPassword: Any = None,
        smtpPort: int = 25,
        dumpMailsToLog: bool = False,
        generators: list[Any] | None = None,
    ) -> None:
        self.fromaddr = fromaddr
        self.relayhost = relayhost
        if isinstance(lookup, str):
            lookup = Domain(lookup)
        self.lookup = lookup
        self.extraRecipients = list(extraRecipients or [])
        self.sendToInterestedUsers = sendToInterestedUsers
        self.extraHeaders = extraHeaders
        self.useTls = useTls
        self.useSmtps = useSmtps
        self.smtpUser = smtpUser
        self.smtpPassword = smtpPassword
        self.smtpPort = smtpPort
        self.dumpMailsToLog = dumpMailsToLog
        if generators is None:
            generators = self._create_default_generators()
        await super().reconfigService(generators=generators)

    @service._returns_deferred
    async def stopService(self) -> None:  # type: ignore[override]
        # a stopping master does not wait for a slow relay: sessions in flight are
        # cut (their mails logged as not sent) and no new attempt starts
        self._stopping = True
        for connector in list(self._connectors):
            connector.disconnect()
        await super().stopService()

    @service._returns_deferred
    async def startService(self) -> None:  # type: ignore[override]
        self._stopping = False
        await super().startService()

    def _create_default_generators(self) -> list[Any]:
        from buildbot.reporters.generators.buildset import BuildSetStatusGenerator
        from buildbot.reporters.generators.worker import WorkerMissingGenerator
        from buildbot.reporters.message import MessageFormatter

        return [
            BuildSetStatusGenerator(
                mode=("failing", "passing", "warnings"),
                add_patch=True,
                message_formatter=MessageFormatter(template_type="html"),
            ),
            WorkerMissingGenerator(),
        ]

    # ---- the message -------------------------------------------------------------

    async def createEmail(self, reports: list[dict[str, Any]]) -> EmailMessage:
        """One message for `reports`: bodies joined, the first subject and type."""
        body = "\n".join(bytes2unicode(b) for b in _merge(reports, "body"))
        subject = _first(reports, "subject") or "Buildbot"
        subtype = _first(reports, "type") or "plain"
        if subtype not in ("plain", "html"):
            log.msg(f"MailNotifier: report type {subtype!r} sent as text/plain")
            subtype = "plain"

        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"] = self.fromaddr
        msg["Subject"] = " ".join(str(subject).split())  # headers are one line
        msg["Date"] = formatdate(self._now(), localtime=True)
        msg["Message-ID"] = make_msgid(domain=self._msgid_domain())
        msg.set_content(body, subtype=subtype, charset="utf-8", cte=self._cte(body))

        for i, patch in enumerate(_merge(reports, "patches")):
            self._attach_patch(msg, patch, i)
        for lg in self._logs_to_attach(reports):
            self._attach_log(msg, lg)

        await self._add_extra_headers(msg, _merge(reports, "builds"))
        return msg

    def _now(self) -> float:
        reactor = self.reactor
        return reactor.seconds() if reactor is not None else None  # type: ignore[return-value]

    def _msgid_domain(self) -> str:
        return parseaddr(self.fromaddr)[1].rpartition("@")[2] or "buildbot"

    @staticmethod
    def _cte(text: str) -> str:
        # 8bit would need SMTPUTF8/8BITMIME from the relay; keep ASCII on the wire
        return (
            "7bit"
            if text.isascii() and max(map(len, text.splitlines() or [""])) < 990
            else "quoted-printable"
        )

    def _attach_patch(self, msg: EmailMessage, patch: dict[str, Any], index: int) -> None:
        body = patch.get("body") or b""
        filename = "source patch" if index == 0 else f"source patch {index + 1}"
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            msg.add_attachment(body, maintype="application", subtype="octet-stream",
                               filename=filename)  # fmt: skip
            return
        msg.add_attachment(text, subtype="x-diff", charset="utf-8", cte=self._cte(text),
                           filename=filename)  # fmt: skip

    @staticmethod
    def _logs_to_attach(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reports' logs, and every log of their builds whose content was fetched
        (the formatter's `want_logs_content`), each once."""
        logs = list(_merge(reports, "logs"))
        for build in _merge(reports, "builds"):
            for step in build.get("steps") or []:
                logs.extend(lg for lg in step.get("logs") or [] if "content" in lg)
        seen: set[Any] = set()
        out = []
        for lg in logs:
            key = lg.get("logid", id(lg))
            if key not in seen:
                seen.add(key)
                out.append(lg)
        return out

    def _attach_log(self, msg: EmailMessage, lg: dict[str, Any]) -> None:
        content = lg.get("content")
        if isinstance(content, dict):
            content = content.get("content")
        if content is None:
            return  # a log whose content the formatter did not ask for
        text = bytes2unicode(content, errors="replace")
        name = lg.get("name", "log")
        stepname = lg.get("stepname")
        filename = f"{stepname}.{name}" if stepname else name
        msg.add_attachment(text, subtype="plain", charset="utf-8", cte=self._cte(text),
                           filename=filename)  # fmt: skip

    async def _add_extra_headers(self, msg: EmailMessage, builds: list[dict[str, Any]]) -> None:
        if not self.extraHeaders:
            return
        # rendered against each build's properties; the first build wins a conflict
        for build in builds or [{}]:
            props = Properties.fromDict(build.get("properties") or {})
            props.master = self.master
            headers = await props.render(self.extraHeaders)
            if not isinstance(headers, dict):
                log.msg(f"MailNotifier: extraHeaders rendered to {headers!r}, not a dict")
                return
            for key, value in headers.items():
                value = " ".join(str(value).split())
                if key in msg:
                    if msg[key] != value:
                        log.msg(
                            f"MailNotifier: header {key!r} renders differently for build "
                            f"{build.get('buildid')} ({value!r}); keeping {msg[key]!r}"
                        )
                    continue
                msg[key] = value

    # ---- the recipients ------------------------------------------------------------

    async def _lookup_users(self, users: list[str]) -> list[str]:
        addresses = []
        for user in users:
            try:
                if self.lookup is not None:
                    addr = await defer.maybeDeferred(self.lookup.getAddress, user)
                else:
                    addr = user
            except Exception as e:
                log.msg(f"MailNotifier: cannot look up the address of {user!r}: {e}")
                continue
            if addr and bare_address(str(addr)) is not None:
                addresses.append(str(addr))
            else:
                log.msg(f"MailNotifier: no valid email for {user!r} (got {addr!r}), skipped")
        return addresses

    async def findRecipients(self, reports: list[dict[str, Any]], msg: EmailMessage) -> list[str]:
        """Set To (and Cc) on `msg`; return the envelope recipients (bare addresses)."""
        to: list[str] = []
        cc: list[str] = []

        def add(where: list[str], addr: str) -> None:
            spec = bare_address(addr)
            if spec and all(bare_address(a) != spec for a in to + cc):
                where.append(addr)

        if _first(reports, "worker") is not None:
            # a missing worker: its `notify` addresses, whoever the interested users are
            for addr in _merge(reports, "users"):
                if bare_address(addr):
                    add(to, addr)
                else:
                    log.msg(f"MailNotifier: worker notify address {addr!r} is not valid")
        elif self.sendToInterestedUsers:
            for addr in await self._lookup_users(_merge(reports, "users")):
                add(to, addr)
        extra = cc if to else to  # Cc beside the interested users, else To
        for addr in self.extraRecipients:
            add(extra, addr)

        if to:
            msg["To"] = ", ".join(sorted(to))
        if cc:
            msg["Cc"] = ", ".join(sorted(cc))
        return [spec for _, spec in getaddresses(to + cc)]

    # ---- sending --------------------------------------------------------------------

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        msg = await self.createEmail(reports)
        recipients = await self.findRecipients(reports, msg)
        if not recipients:
            log.msg(f"MailNotifier: no recipients for {msg['Subject']!r}, nothing sent")
            return
        await self.sendMail(msg, recipients)

    async def sendMail(self, msg: EmailMessage, recipients: list[str]) -> None:
        data = msg.as_bytes()
        if self.dumpMailsToLog:
            log.msg(f"MailNotifier: mail ({len(data)} bytes) to {recipients}:\n"
                    + data.decode("ascii", "replace"))  # fmt: skip
        props = Properties()
        props.master = self.master
        user = await props.render(self.smtpUser)
        password = await props.render(self.smtpPassword)

        relay = f"{self.relayhost}:{self.smtpPort}"
        what = f"mail {msg['Subject']!r} to {', '.join(recipients)} via {relay}"

        def attempt() -> Any:
            if self._stopping:
                return _STOPPED
            return self._deliver(user, password, recipients, data)

        try:
            result = await retry_with_backoff(
                self.reactor,
                attempt,
                what,
                tries=SEND_TRIES,
                first_delay=SEND_FIRST_DELAY,
            )
        except Exception as e:
            log.msg(f"MailNotifier: giving up on {what}: {e}")
            return
        if result is _STOPPED:
            log.msg(f"MailNotifier: not sent, the master stops: {what}")
            return
        log.msg(f"MailNotifier: sent {what}")

    def _tls_options(self) -> Any:
        """Client TLS options checking the relay's certificate against its host name."""
        from twisted.internet.ssl import optionsForClientTLS

        return optionsForClientTLS(self.relayhost)

    def _deliver(
        self, user: Any, password: Any, recipients: list[str], data: bytes
    ) -> defer.Deferred:
        """One SMTP session: a Deferred that fires when the relay took the message."""
        from twisted.mail.smtp import ESMTPSenderFactory

        done: defer.Deferred = defer.Deferred()
        use_auth = bool(user and password)
        tls = self._tls_options() if (self.useTls or self.useSmtps) else None
        factory = ESMTPSenderFactory(
            user.encode() if isinstance(user, str) else user,
            password.encode() if isinstance(password, str) else password,
            parseaddr(self.fromaddr)[1],
            recipients,
            BytesIO(data),
            done,
            retries=0,  # retried with backoff by sendMail
            timeout=SMTP_TIMEOUT,
            contextFactory=tls if self.useTls else None,
            requireAuthentication=use_auth,
            requireTransportSecurity=self.useTls,
        )
        reactor = self.reactor
        build = factory.buildProtocol

        def build_protocol(addr: Any) -> Any:
            p = build(addr)
            p.callLater = reactor.callLater  # session timeout on the master's clock
            return p

        factory.buildProtocol = build_protocol  # type: ignore[method-assign]
        if self.useSmtps:
            connector = reactor.connectSSL(self.relayhost, self.smtpPort, factory, tls)
        else:
            connector = reactor.connectTCP(self.relayhost, self.smtpPort, factory)
        if connector is not None:
            self._connectors.add(connector)

            def forget(result: Any) -> Any:
                self._connectors.discard(connector)
                return result

            done.addBoth(forget)
        return done
