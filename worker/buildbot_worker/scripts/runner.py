"""The `buildbot-worker` command."""

from __future__ import annotations

import sys

from twisted.python import usage

SUBCOMMANDS: dict[str, str] = {
    "create-worker": "Create and populate a directory for a new worker",
    "start": "Start a worker",
    "stop": "Stop a worker",
    "restart": "Restart a worker",
}


def _versions() -> str:
    import twisted

    import buildbot_worker

    return (
        f"Buildbot-worker version: {buildbot_worker.version}\n"
        f"Twisted version: {twisted.__version__}"
    )


class NotAvailableOptions(usage.Options):
    """Accepts any arguments for a subcommand that is not built yet."""

    def parseOptions(self, options=None) -> None:
        self["args"] = tuple(options or ())


class Options(usage.Options):
    synopsis = "Usage:    buildbot-worker <command> [command options]"
    optFlags = [["verbose", "v", "Display more information"]]
    subCommands = [[name, None, NotAvailableOptions, text] for name, text in SUBCOMMANDS.items()]

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
        print(f"buildbot-worker: {e}", file=sys.stderr)
        print(file=sys.stderr)
        print(str(config), file=sys.stderr)
        return 1
    print(
        f"buildbot-worker: the '{config.subCommand}' command is not available yet in this version",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
