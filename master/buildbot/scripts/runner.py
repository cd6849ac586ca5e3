"""The `buildbot` command."""

from __future__ import annotations

import importlib
import sys

from twisted.python import usage

# Every subcommand of the `buildbot` command, with a line of help. Those that
# have no implementation yet answer plainly instead of pretending to work.
SUBCOMMANDS: dict[str, str] = {
    "create-master": "Create and populate a directory for a new buildmaster",
    "upgrade-master": "Upgrade an existing buildmaster directory for the current version",
    "start": "Start a buildmaster",
    "stop": "Stop a buildmaster",
    "restart": "Restart a buildmaster",
    "reconfig": "SIGHUP a buildmaster to make it re-read the config file",
    "sighup": "SIGHUP a buildmaster to make it re-read the config file",
    "checkconfig": "Test the validity of a master.cfg config file",
    "sendchange": "Send a change to the buildmaster",
    "try": "Run a build with your local changes",
    "tryserver": "buildmaster-side 'try' support function, not for users",
    "user": "Manage users in buildbot's database",
    "cleanupdb": "Clean up the database",
    "copy-db": "Copy the database to another database",
    "dataspec": "Output the data-API specification",
    "dev-proxy": "Run a fake web server serving the local UI against a remote buildbot",
}


# Subcommands that are implemented: name -> "module:OptionsClass", "module:function".
# The function takes the parsed options and returns the exit status.
IMPLEMENTED: dict[str, tuple[str, str]] = {
    "create-master": (
        "buildbot.scripts.create_master:CreateMasterOptions",
        "buildbot.scripts.create_master:createMaster",
    ),
    "start": ("buildbot.scripts.start:StartOptions", "buildbot.scripts.start:start"),
    "stop": ("buildbot.scripts.stop:StopOptions", "buildbot.scripts.stop:stop"),
    "restart": ("buildbot.scripts.restart:RestartOptions", "buildbot.scripts.restart:restart"),
    "reconfig": (
        "buildbot.scripts.reconfig:ReconfigOptions",
        "buildbot.scripts.reconfig:reconfig",
    ),
    "sighup": (
        "buildbot.scripts.reconfig:ReconfigOptions",
        "buildbot.scripts.reconfig:reconfig",
    ),
    "sendchange": (
        "buildbot.scripts.sendchange:SendChangeOptions",
        "buildbot.scripts.sendchange:sendchange",
    ),
    "cleanupdb": (
        "buildbot.scripts.cleanupdb:CleanupDBOptions",
        "buildbot.scripts.cleanupdb:cleanupDatabase",
    ),
    "checkconfig": (
        "buildbot.scripts.checkconfig:CheckConfigOptions",
        "buildbot.scripts.checkconfig:checkconfig",
    ),
    "upgrade-master": (
        "buildbot.scripts.upgrade_master:UpgradeMasterOptions",
        "buildbot.scripts.upgrade_master:upgradeMaster",
    ),
}


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _options_class(name: str):
    if name in IMPLEMENTED:
        # imported on demand, so that `buildbot --version` stays quick
        return lambda: _load(IMPLEMENTED[name][0])()
    return NotAvailableOptions


def _versions() -> str:
    import twisted

    import buildbot

    return f"Buildbot version: {buildbot.version}\nTwisted version: {twisted.__version__}"


class NotAvailableOptions(usage.Options):
    """Accepts any arguments for a subcommand that is not built yet."""

    def parseOptions(self, options=None) -> None:
        # Swallow every option, known or not: the subcommand will refuse anyway.
        self["args"] = tuple(options or ())


class Options(usage.Options):
    synopsis = "Usage:    buildbot <command> [command options]"
    optFlags = [["verbose", "v", "Display more information"]]
    subCommands = [[name, None, _options_class(name), text] for name, text in SUBCOMMANDS.items()]

    def opt_version(self) -> None:
        """Print the versions of this program and of Twisted, then exit."""
        print(_versions())
        sys.exit(0)

    def postOptions(self) -> None:
        if not hasattr(self, "subOptions"):
            raise usage.UsageError("must specify a command")


def run(argv: list[str] | None = None) -> int:
    config = Options()
    try:
        config.parseOptions(sys.argv[1:] if argv is None else argv)
    except usage.error as e:
        print(f"buildbot: {e}", file=sys.stderr)
        print(file=sys.stderr)
        print(str(config), file=sys.stderr)
        return 1
    if config.subCommand in IMPLEMENTED:
        return _load(IMPLEMENTED[config.subCommand][1])(config.subOptions)
    print(
        f"buildbot: the '{config.subCommand}' command is not available yet in this version",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
