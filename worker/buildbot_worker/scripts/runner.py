"""The `buildbot-worker` command."""

from __future__ import annotations

import sys
from collections.abc import Callable

from twisted.python import usage

from buildbot_worker.scripts import control, create_worker

SUBCOMMANDS: dict[str, tuple[type[usage.Options], Callable[[dict], int], str]] = {
    "create-worker": (
        create_worker.CreateWorkerOptions,
        create_worker.create_worker,
        "Create and populate a directory for a new worker",
    ),
    "start": (control.StartOptions, control.start, "Start a worker"),
    "stop": (control.StopOptions, control.stop, "Stop a worker"),
    "restart": (control.RestartOptions, control.restart, "Restart a worker"),
}


def _versions() -> str:
    import twisted

    import buildbot_worker

    return (
        f"Buildbot-worker version: {buildbot_worker.version}\n"
        f"Twisted version: {twisted.__version__}"
    )


class Options(usage.Options):
    synopsis = "Usage:    buildbot-worker <command> [command options]"
    optFlags = [["verbose", "v", "Display more information"]]
    subCommands = [[name, None, opts, text] for name, (opts, _, text) in SUBCOMMANDS.items()]

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
    _, action, _ = SUBCOMMANDS[config.subCommand]
    return action(config.subOptions)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
