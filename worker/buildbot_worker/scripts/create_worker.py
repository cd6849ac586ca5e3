"""`buildbot-worker create-worker`: a worker base directory with its buildbot.tac."""

from __future__ import annotations

import os
from typing import Any

from twisted.python import usage

from buildbot_worker.protocols import MSGPACK

TAC_TEMPLATE = """\
import os

from buildbot_worker.bot import Worker
from twisted.application import service

basedir = {basedir}
rotateLength = {log_size}
maxRotatedFiles = {log_count}

# if this is a relocatable tac file, get the directory containing the TAC
if basedir == '.':
    basedir = os.path.abspath(os.path.dirname(__file__))

# note: this line is matched against to check that this is a worker
# directory; do not edit it.
application = service.Application('buildbot-worker')
{log_setup}
buildmaster_host = {host}
port = {port}
connection_string = {connection_string}
workername = {name}
passwd = {passwd}
keepalive = {keepalive}
umask = {umask}
maxdelay = {maxdelay}
numcpus = {numcpus}
allow_shutdown = {allow_shutdown}
maxretries = {maxretries}
use_tls = {use_tls}
delete_leftover_dirs = {delete_leftover_dirs}
proxy_connection_string = {proxy_connection_string}
protocol = {protocol}

s = Worker(buildmaster_host, port, workername, passwd, basedir,
           keepalive, umask=umask, maxdelay=maxdelay,
           numcpus=numcpus, allow_shutdown=allow_shutdown,
           maxRetries=maxretries, protocol=protocol, useTls=use_tls,
           delete_leftover_dirs=delete_leftover_dirs,
           connection_string=connection_string,
           proxy_connection_string=proxy_connection_string)
s.setServiceParent(application)
"""

LOG_SETUP = """
from twisted.python.logfile import LogFile
from twisted.python.log import ILogObserver, FileLogObserver
logfile = LogFile.fromFullPath(
    os.path.join(basedir, "twistd.log"), rotateLength=rotateLength,
    maxRotatedFiles=maxRotatedFiles)
application.setComponent(ILogObserver, FileLogObserver(logfile).emit)
"""

INFO_FILES = {
    "admin": "Your Name Here <admin@youraddress.invalid>\n",
    "host": "Please put a description of this build host here\n",
}


def _int_or_none(value: str | None) -> int | None:
    return None if value is None or value == "None" else int(value, 0)


class CreateWorkerOptions(usage.Options):
    synopsis = (
        "Usage:    buildbot-worker create-worker [options] <basedir> <master> <name> <passwd>"
    )
    optFlags = [
        ["force", "f", "Re-use an existing directory (will not overwrite buildbot.tac)"],
        ["relocatable", "r", "Create a relocatable buildbot.tac"],
        ["no-logrotate", "n", "Do not permit buildmaster rotate logs by itself"],
        ["use-tls", None, "Uses TLS to connect to master"],
        ["delete-leftover-dirs", None, "Delete folders that are not required by the master"],
        ["quiet", "q", "Do not emit the commands being run"],
    ]
    optParameters = [
        ["keepalive", "k", 600, "Interval in seconds between keepalives (0 disables)"],
        ["umask", None, "None", "umask of the worker process, e.g. 0o22"],
        ["maxdelay", None, 300, "Accepted for compatibility; unused"],
        ["maxretries", None, "None", "Stop after this many failed connection attempts"],
        ["numcpus", None, "None", "Number of available cpus"],
        ["log-size", "s", "10000000", "Size at which to rotate twisted log files"],
        ["log-count", "l", "10", "Limit the number of kept old twisted log files (None: all)"],
        ["allow-shutdown", "a", None, "Allow the worker to initiate a graceful shutdown"],
        ["protocol", None, "pb", f"Protocol used to talk to the master: pb or {MSGPACK}"],
        ["connection-string", None, None, "Twisted endpoint string for the connection"],
        ["proxy-connection-string", None, None, "HTTP proxy endpoint (CONNECT tunnel)"],
    ]

    def parseArgs(self, *args: str) -> None:
        if len(args) != 4:
            raise usage.UsageError("incorrect number of arguments")
        basedir, master, name, passwd = args
        self["basedir"], self["name"], self["passwd"] = basedir, name, passwd
        self["master"] = master

    def postOptions(self) -> None:
        for key in ("keepalive", "maxdelay"):
            self[key] = int(self[key])
        for key in ("umask", "maxretries", "numcpus"):
            try:
                self[key] = _int_or_none(self[key])
            except ValueError:
                raise usage.UsageError(f"{key} parameter needs to be a number or None")
        try:
            self["log-size"] = int(self["log-size"])
            self["log-count"] = _int_or_none(self["log-count"])
        except ValueError:
            raise usage.UsageError("log-size and log-count need to be numbers")
        if self["allow-shutdown"] not in (None, "signal", "file"):
            raise usage.UsageError("allow-shutdown needs to be one of 'signal' or 'file'")
        if self["protocol"] not in ("pb", MSGPACK):
            raise usage.UsageError(f"protocol must be 'pb' or '{MSGPACK}'")
        if self["connection-string"] and self["use-tls"]:
            raise usage.UsageError("--connection-string and --use-tls are mutually exclusive")
        self["host"], self["port"] = self.split_master(self["master"])

    @staticmethod
    def split_master(master: str) -> tuple[str, int]:
        if "://" in master:
            raise usage.UsageError("<master> is not a URL - do not use URL")
        if master.startswith("["):
            host, _, rest = master[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif master.count(":") == 1:
            host, _, port = master.partition(":")
        else:
            host, port = master, ""
        if not host:
            raise usage.UsageError("invalid <master> argument: no host")
        try:
            return host, int(port) if port else 9989
        except ValueError:
            raise usage.UsageError(f"invalid <master> argument '{master}', port must be a number")


def make_tac(config: dict[str, Any]) -> str:
    basedir = "." if config.get("relocatable") else os.path.abspath(config["basedir"])
    log_setup = "" if config.get("no-logrotate") else LOG_SETUP
    host: str | None = config["host"]
    port: int | None = config["port"]
    if config.get("connection-string"):
        host = port = None
    return TAC_TEMPLATE.format(
        basedir=repr(basedir),
        log_size=config["log-size"],
        log_count=config["log-count"],
        log_setup=log_setup,
        host=repr(host),
        port=repr(port),
        connection_string=repr(config.get("connection-string")),
        name=repr(config["name"]),
        passwd=repr(config["passwd"]),
        keepalive=config["keepalive"],
        umask="None" if config["umask"] is None else oct(config["umask"]),
        maxdelay=config["maxdelay"],
        numcpus=config["numcpus"],
        allow_shutdown=repr(config["allow-shutdown"]),
        maxretries=config["maxretries"],
        use_tls=int(bool(config.get("use-tls"))),
        delete_leftover_dirs=int(bool(config.get("delete-leftover-dirs"))),
        proxy_connection_string=repr(config.get("proxy-connection-string")),
        protocol=repr(config["protocol"]),
    )


def create_worker(config: dict[str, Any]) -> int:
    basedir = config["basedir"]
    quiet = config.get("quiet")

    def say(text: str) -> None:
        if not quiet:
            print(text)

    if os.path.exists(basedir):
        if not config.get("force"):
            say(f"basedir '{basedir}' already exists, use --force to reuse it")
            return 1
        say(f"updating existing installation in {basedir}")
    else:
        os.makedirs(basedir)
        say(f"mkdir {basedir}")
    contents = make_tac(config)
    tac = os.path.join(basedir, "buildbot.tac")
    if os.path.exists(tac):
        with open(tac) as f:
            old = f.read()
        if old == contents:
            say("buildbot.tac already exists and is correct")
        else:
            say("not touching existing buildbot.tac; creating buildbot.tac.new instead")
            _write_private(tac + ".new", contents)
    else:
        _write_private(tac, contents)
        say("created buildbot.tac")
    info = os.path.join(basedir, "info")
    os.makedirs(info, exist_ok=True)
    for name, text in INFO_FILES.items():
        path = os.path.join(info, name)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(text)
            say(f"Creating {os.path.join('info', name)}, you need to edit it appropriately.")
    say(f"worker configured in {os.path.abspath(basedir)}")
    return 0


def _write_private(path: str, contents: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(contents)
    os.chmod(path, 0o600)
