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
    """The ``c['db']`` settings of the master.cfg in `basedir`, with their defaults."""
    # Interim reader until the full config loader lands: runs the file, reads c['db'].
    import runpy

    path = os.path.join(basedir, config_file)
    sys.path.insert(0, basedir)
    try:
        namespace = runpy.run_path(path, run_name="__main__")
    except Exception as e:
        raise MasterConfigError(f"error while loading {path}: {e!r}") from None
    finally:
        sys.path.remove(basedir)
    c = namespace.get("BuildmasterConfig")
    if not isinstance(c, dict):
        raise MasterConfigError(f"{path} does not define a BuildmasterConfig dictionary")
    db = dict(c.get("db") or {})
    db.setdefault("db_url", c.get("db_url", "sqlite:///state.sqlite"))
    db.setdefault("engine_kwargs", {})
    return db
