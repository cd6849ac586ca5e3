"""`buildbot checkconfig [FILE]`: load a master.cfg and report every problem in it."""

from __future__ import annotations

import os
import sys
from typing import Any

from twisted.python import usage

from buildbot.config.errors import ConfigErrors


class CheckConfigOptions(usage.Options):
    synopsis = "Usage:    buildbot checkconfig [options] [<configFile or basedir>]"
    optFlags = [["quiet", "q", "Do not display error messages"]]

    def parseArgs(self, configFile: str | None = None) -> None:
        if configFile is not None:
            self["configFile"] = configFile

    def getSynopsis(self) -> str:
        return (
            self.synopsis + "\n\nChecks a config file (default: master.cfg in the current "
            "directory);\na directory means the master.cfg in it."
        )


def locate(config: dict[str, Any]) -> tuple[str, str]:
    """(basedir, config file name) for the options: a directory means its master.cfg,
    a file path means that file, in its own directory."""
    basedir = config.get("basedir") or "."
    config_file = config.get("configFile") or "master.cfg"
    path = os.path.join(basedir, config_file)
    if os.path.isdir(path):
        return path, "master.cfg"
    return os.path.dirname(path) or ".", os.path.basename(path)


def checkconfig(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    """0 if the config loads cleanly; otherwise print every error and return 1."""
    from buildbot.config.master import FileLoader

    out = out or sys.stdout
    err = err or sys.stderr
    quiet = config.get("quiet")
    basedir, config_file = locate(config)
    try:
        FileLoader(basedir, config_file).loadConfig()
    except ConfigErrors as e:
        if not quiet:
            print("Configuration Errors:", file=err)
            for msg in e.errors:
                print("  " + msg, file=err)
        return 1
    if not quiet:
        print("Config file is good!", file=out)
    return 0
