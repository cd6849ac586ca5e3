"""`buildbot restart`: stop the master if it runs, then start it."""

from __future__ import annotations

import sys
from typing import Any

from buildbot.scripts import start as start_mod
from buildbot.scripts import stop as stop_mod


class RestartOptions(start_mod.StartOptions):
    synopsis = "Usage:    buildbot restart [options] [<basedir>]"
    optFlags = [
        *start_mod.StartOptions.optFlags,
        ["clean", "c", "Stop once the running builds have finished (SIGUSR1)"],
    ]


def restart(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    # stop waits: `no-wait` is not a restart option
    if stop_mod.stop(config, out, err) != 0:
        return 1
    if not config.get("quiet"):
        print("now restarting buildbot process..", file=out)
    return start_mod.start(config, out, err)
