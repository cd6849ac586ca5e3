"""`buildbot create-master`: make a master directory: buildbot.tac, a sample config, the DB."""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Any

from twisted.python import usage

from buildbot.db import fresh_sqlite
from buildbot.scripts import base, sample_config

TAC_HEAD = """\
import os

from twisted.application import service

from buildbot.master import BuildMaster

basedir = {basedir!r}
rotateLength = {rotate_length!r}
maxRotatedFiles = {max_rotated_files!r}
configfile = {configfile!r}
# the file mode mask of the master's process (None: keep the inherited one)
umask = None

# a relocatable master lives wherever this file is
if basedir == '.':
    basedir = os.path.abspath(os.path.dirname(__file__))

# twistd runs the application named here
application = service.Application('buildmaster')
"""

TAC_LOGROTATE = """
# twistd.log, rotated at rotateLength bytes, keeping maxRotatedFiles old files
from twisted.python.log import FileLogObserver, ILogObserver
from twisted.python.logfile import LogFile

logfile = LogFile.fromFullPath(
    os.path.join(basedir, "twistd.log"),
    rotateLength=rotateLength,
    maxRotatedFiles=maxRotatedFiles,
)
application.setComponent(ILogObserver, FileLogObserver(logfile).emit)
"""

TAC_TAIL = """
m = BuildMaster(basedir, configfile, umask)
m.setServiceParent(application)
m.log_rotation.rotateLength = rotateLength
m.log_rotation.maxRotatedFiles = maxRotatedFiles
"""


class CreateMasterOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot create-master [options] [<basedir>]"
    optFlags = [
        ["quiet", "q", "Do not print what is being done"],
        ["force", "f", "Re-use an existing directory (master.cfg is never overwritten)"],
        ["relocatable", "r", "Make buildbot.tac find the basedir from its own location"],
        ["develop", "d", "Accepted for compatibility; has no effect"],
        ["no-logrotate", "n", "Let twistd write twistd.log without rotation settings"],
    ]
    optParameters = [
        ["config", "c", "master.cfg", "Name of the master's config file"],
        ["log-size", "s", 10_000_000, "Size at which twistd.log is rotated, in bytes"],
        ["log-count", "l", 10, "Number of rotated log files to keep ('None': all)"],
        ["db", None, "sqlite:///state.sqlite", "Database URL, written into master.cfg.sample"],
    ]

    def getSynopsis(self) -> str:
        return (
            self.synopsis + "\n\nCreates a master directory: buildbot.tac, master.cfg.sample "
            "and the database.\nAn existing master.cfg is left alone."
        )

    def postOptions(self) -> None:
        super().postOptions()
        try:
            self["log-size"] = int(self["log-size"])
        except ValueError:
            raise usage.UsageError("log-size parameter needs to be an integer")
        if self["log-count"] in (None, "None"):
            self["log-count"] = None
        else:
            try:
                self["log-count"] = int(self["log-count"])
            except ValueError:
                raise usage.UsageError("log-count parameter needs to be an integer or None")


def tac_contents(config: dict[str, Any]) -> str:
    text = TAC_HEAD.format(
        basedir="." if config.get("relocatable") else config["basedir"],
        rotate_length=config["log-size"],
        max_rotated_files=config["log-count"],
        configfile=config["config"],
    )
    if not config.get("no-logrotate"):
        text += TAC_LOGROTATE
    return text + TAC_TAIL


def createMaster(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr

    def say(message: str) -> None:
        if not config.get("quiet"):
            print(message, file=out)

    basedir = config["basedir"]
    if os.path.isdir(basedir):
        say("updating existing installation")
    elif os.path.exists(basedir):
        print(f"error: {basedir} exists and is not a directory", file=err)
        return 1
    else:
        say(f"mkdir {basedir}")
        os.makedirs(basedir)
    write_tac(basedir, tac_contents(config), say)
    sample = os.path.join(basedir, "master.cfg.sample")
    say(f"creating {sample}")
    _write(sample, sample_config.sample_config(config["db"]), mode=0o600)
    if create_db(config["db"], basedir, say, err) != 0:
        return 1
    say(f"buildmaster configured in {basedir}")
    return 0


def create_db(url: str, basedir: str, say: Any, err: Any) -> int:
    """Make the master's database: a new SQLite file from the stored schema, anything
    else as `upgrade-master` does; 0 on success, else 1."""
    path = fresh_sqlite.plain_sqlite_path(url, basedir)
    if path is not None and fresh_sqlite.is_new(path):
        say(f"upgrading database ({url})")
        try:
            revision = fresh_sqlite.create(path)
        except (OSError, sqlite3.Error) as e:
            print(f"error: cannot create the database {url}: {e}", file=err)
            return 1
        say(f"created the database schema (revision {revision})")
        say("upgrade complete")
        return 0
    from buildbot.scripts import upgrade_master  # imports SQLAlchemy

    return upgrade_master.upgrade_db(url, basedir, {}, say, err)


def write_tac(basedir: str, contents: str, say: Any) -> None:
    """Write buildbot.tac; a different existing one is kept and ours goes to buildbot.tac.new."""
    tac = os.path.join(basedir, "buildbot.tac")
    if os.path.exists(tac):
        with open(tac, encoding="utf-8") as f:
            existing = f.read()
        if existing == contents:
            say("buildbot.tac already exists and is correct")
            return
        say("not touching the existing buildbot.tac; writing buildbot.tac.new instead")
        tac += ".new"
    else:
        say("creating buildbot.tac")
    _write(tac, contents)


def _write(path: str, contents: str, mode: int | None = None) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(contents)
    if mode is not None:
        os.chmod(path, mode)
