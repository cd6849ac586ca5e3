"""What the `buildbot` subcommands share: options with a basedir, and basedir checks."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from twisted.python import usage

if TYPE_CHECKING:
    from buildbot.config.master import MasterConfig


def load_options_file(
    filename: str = "options", here: str | None = None, home: str | None = None
) -> dict[str, Any]:
    """The settings of the first `.buildbot/<filename>` found, as a dict.

    The search goes from `here` (default: the current directory) up to the root, then
    `home` (default: ~/.buildbot); only a `.buildbot` directory owned by the current user
    counts. The file is Python: each top-level name not starting with '_' is a setting.
    """
    here = os.path.abspath(here or os.getcwd())
    home = home or os.path.join(os.path.expanduser("~"), ".buildbot")
    candidates = []
    directory = here
    while True:
        candidates.append(os.path.join(directory, ".buildbot"))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    candidates.append(home)
    for dotdir in candidates:
        path = os.path.join(dotdir, filename)
        if _owned_by_me(dotdir) and os.path.isfile(path):
            return _read_options_file(path)
    return {}


def _owned_by_me(path: str) -> bool:
    try:
        return os.stat(path).st_uid == os.getuid()
    except OSError:
        return False


def _read_options_file(path: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    try:
        with open(path, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), namespace)
    except Exception as e:
        raise usage.UsageError(f"error in {path}: {e!r}") from None
    return {k: v for k, v in namespace.items() if not k.startswith("_")}


class SubcommandOptions(usage.Options):
    """Options whose defaults may come from `.buildbot/options`.

    `buildbotOptions` lists (name in the options file, option name) pairs; a value found
    in the file replaces the option's default, and the command line still wins.
    """

    buildbotOptions: list[tuple[str, str]] = []

    def __init__(self) -> None:
        super().__init__()
        if self.buildbotOptions:
            found = load_options_file()
            for file_name, option_name in self.buildbotOptions:
                if file_name in found:
                    self[option_name] = found[file_name]


class BasedirOptions(SubcommandOptions):
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


def load_master_config(basedir: str, config_file: str = "master.cfg") -> MasterConfig:
    """The MasterConfig of the master.cfg in `basedir`, once the whole file is found
    valid; MasterConfigError lists every problem otherwise."""
    from buildbot.config.errors import ConfigErrors
    from buildbot.config.master import FileLoader

    try:
        return FileLoader(basedir, config_file).loadConfig()
    except ConfigErrors as e:
        raise MasterConfigError(
            "master.cfg has errors:\n" + "\n".join(f"  {m}" for m in e.errors)
        ) from None


def load_db_config(basedir: str, config_file: str = "master.cfg") -> dict[str, Any]:
    """The ``c['db']`` settings of the master.cfg in `basedir`, once the whole file
    is found valid; MasterConfigError lists every problem otherwise."""
    db = dict(load_master_config(basedir, config_file).db)
    db.setdefault("engine_kwargs", {})
    return db
