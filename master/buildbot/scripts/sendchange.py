"""`buildbot sendchange`: submit a change to a master's PBChangeSource over PB."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from twisted.cred import credentials
from twisted.internet import defer, task
from twisted.internet import reactor as global_reactor
from twisted.python import usage
from twisted.spread import pb

from buildbot.scripts import base

VCS = ["cvs", "svn", "darcs", "hg", "bzr", "git", "mtn", "p4"]


class SendChangeOptions(base.SubcommandOptions):
    synopsis = "Usage:    buildbot sendchange --master host:port --who NAME [options] [FILE ...]"
    optParameters = [
        ["master", "m", None, "Location of the buildmaster's PBChangeSource (host:port)"],
        ["auth", "a", None, "Authentication token: username:password, or prompt for password"],
        ["who", "W", None, "Author of the commit"],
        ["repository", "R", "", "Repository specifier"],
        ["vc", "s", None, "The VC system in use, one of: " + ", ".join(VCS)],
        ["project", "P", "", "Project specifier"],
        ["branch", "b", None, "Branch specifier"],
        ["category", "C", None, "Category of repository"],
        ["codebase", None, None, "Codebase this change is in"],
        ["revision", "r", None, "Revision specifier"],
        ["revision_file", None, None, "Filename containing revision spec"],
        ["comments", "c", None, "Log message"],
        ["logfile", "F", None, "Read the log message from here ('-' for stdin)"],
        ["when", "w", None, "Timestamp of the change (seconds since the epoch)"],
        ["revlink", "l", "", "Revision link (revlink)"],
        ["encoding", "e", "utf8", "Encoding of the log message and file names"],
    ]
    buildbotOptions = [
        ("master", "master"),
        ("who", "who"),
        ("branch", "branch"),
        ("category", "category"),
        ("vc", "vc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self["properties"] = {}

    def opt_property(self, value: str) -> None:
        """A property for the change, as name:value (may be given several times)."""
        name, sep, prop_value = value.partition(":")
        if not sep:
            raise usage.UsageError(f"property {value!r} must be given as name:value")
        self["properties"][name] = prop_value

    opt_p = opt_property

    def parseArgs(self, *files: str) -> None:
        self["files"] = list(files)

    def postOptions(self) -> None:
        if not self.get("master"):
            raise usage.UsageError("you must provide the master location (--master host:port)")
        host, sep, port = self["master"].rpartition(":")
        if not sep or not host or not port.isdigit():
            raise usage.UsageError(f"--master must be host:port, not {self['master']!r}")
        if not self.get("who"):
            raise usage.UsageError("you must provide a committer (--who)")
        if self["vc"] is not None and self["vc"] not in VCS:
            raise usage.UsageError(f"vc must be one of {', '.join(VCS)}")
        if self["when"] is not None:
            try:
                self["when"] = float(self["when"])
            except ValueError:
                raise usage.UsageError(f"--when must be a number, not {self['when']!r}")


def read_text(path: str, encoding: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    return data.decode(encoding, errors="replace")


def change_from_options(config: dict[str, Any]) -> dict[str, Any]:
    """The change as PBChangeSource receives it."""
    comments = config["comments"]
    if config["logfile"]:
        comments = read_text(config["logfile"], config["encoding"])
    revision = config["revision"]
    if config["revision_file"]:
        revision = read_text(config["revision_file"], config["encoding"]).strip()
    change = {
        "who": config["who"],
        "files": list(config["files"]),
        "comments": comments or "",
        "branch": config["branch"],
        "revision": revision,
        "category": config["category"],
        "when": config["when"],
        "properties": dict(config["properties"]),
        "repository": config["repository"],
        "project": config["project"],
        "revlink": config["revlink"],
        "src": config["vc"],
    }
    if config["codebase"] is not None:
        change["codebase"] = config["codebase"]
    return change


def parse_auth(auth: str | None) -> tuple[str, str]:
    if not auth:
        return "change", "changepw"
    user, sep, password = auth.partition(":")
    if not sep:
        password = getpass.getpass(f"Password for {user}: ")
    return user, password


async def send_change(
    reactor: Any, master: str, user: str, password: str, change: dict[str, Any]
) -> None:
    """Log in to the master's PB port and hand it the change."""
    host, _, port = master.rpartition(":")
    factory = pb.PBClientFactory()
    reactor.connectTCP(host, int(port), factory)
    try:
        remote = await factory.login(credentials.UsernamePassword(user.encode(), password.encode()))
        await remote.callRemote("addChange", change)
    finally:
        factory.disconnect()


def sendchange(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        change = change_from_options(config)
    except OSError as e:
        print(f"error: {e}", file=err)
        return 1
    user, password = parse_auth(config["auth"])
    outcome: list[BaseException | None] = []

    async def main(reactor: Any) -> None:
        try:
            await send_change(reactor, config["master"], user, password, change)
            outcome.append(None)
        except Exception as e:
            outcome.append(e)

    try:
        task.react(lambda r: defer.ensureDeferred(main(r)), [], global_reactor)
    except SystemExit:
        pass
    if outcome and outcome[0] is None:
        print("change sent successfully", file=out)
        return 0
    reason = outcome[0] if outcome else "the reactor stopped"
    if isinstance(reason, pb.RemoteError) and b"UnauthorizedLogin" in reason.remoteType:
        reason = "the master refused the login (wrong user or password?)"
    print(f"change not sent: {reason}", file=err)
    return 1
