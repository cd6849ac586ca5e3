"""What the `buildbot` subcommands share: options with a basedir, and basedir checks."""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.python import usage


class BasedirOptions(usage.Options):
    """Options whose one positional argument is the master's basedir (default: '.')."""

    def parseArgs(self, basedir: str | None = None) -> None:
        self["basedir"] = basedir

    def postOptions(self) -> None:
        self["basedir"] = os.path.abspath(os.path.expanduser(self["basedir"] or "."))


def is_buildmaster_dir(basedir: str, err: Any = None) -> bool:
    """True when `basedir` holds a master's buildbot.tac; otherwise says why on `err`."""
    err = err or sys.stderr
    tac = os.path.join(basedir, "buildbot.tac")
    if not os.path.isdir(basedir):
        print(f"error: {basedir} does not exist or is not a directory", file=err)
        return False
    if not os.path.isfile(tac):
        print(
            f"error: {basedir} is not a buildmaster directory: it has no buildbot.tac "
            "(make one with `buildbot create-master`)",
            file=err,
        )
        return False
    return True


class MasterConfigError(Exception):
    """master.cfg could not be read; the message says why."""


def load_db_config(basedir: str, config_file: str = "master.cfg") -> dict[str, Any]:
    """The ``c['db']`` settings of the master.cfg in `basedir`, once the whole file
    is found valid; MasterConfigError lists every problem otherwise."""
    from buildbot.config.errors import ConfigErrors
    from buildbot.config.master import FileLoader

    try:
        master_config = FileLoader(basedir, config_file).loadConfig()
    except ConfigErrors as e:
        raise MasterConfigError(
            "master.cfg has errors:\n" + "\n".join(f"  {m}" for m in e.errors)
        ) from None
    db = dict(master_config.db)
    db.setdefault("engine_kwargs", {})
    return db
