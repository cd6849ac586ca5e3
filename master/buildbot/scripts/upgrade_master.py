"""`buildbot upgrade-master`: create the database of a master, or bring it to our schema.

It runs before any master does, with no reactor: the database work is done
directly here, in the command's own process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from buildbot.db import enginestrategy, migrate
from buildbot.scripts import base


class UpgradeMasterOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot upgrade-master [options] [<basedir>]"
    optFlags = [
        ["quiet", "q", "Do not emit the commands being run"],
        ["replace", "r", "Replace any modified files without confirmation"],
    ]

    def getSynopsis(self) -> str:
        return self.synopsis + "\n\nCreates the master's database, or upgrades it to this version."


def display_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def upgradeMaster(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr

    def say(message: str) -> None:
        if not config.get("quiet"):
            print(message, file=out)

    basedir = config["basedir"]
    if not base.is_buildmaster_dir(basedir, err):
        return 1
    say("checking master.cfg")
    try:
        db = base.load_db_config(basedir)
    except base.MasterConfigError as e:
        print(f"error: {e}", file=err)
        return 1
    return upgrade_db(db["db_url"], basedir, db["engine_kwargs"], say, err)


def upgrade_db(
    url: str, basedir: str, engine_kwargs: dict[str, Any], say: Callable[[str], None], err: Any
) -> int:
    """Create the database at `url`, or bring it to our schema; 0 on success, else 1."""
    say(f"upgrading database ({display_url(url)})")
    try:
        engine = enginestrategy.create_engine(url, basedir=basedir, **engine_kwargs)
    except Exception as e:
        print(f"error: cannot use the database URL {display_url(url)!r}: {e}", file=err)
        return 1
    try:
        state = migrate.thd_upgrade(engine)
    except migrate.DatabaseNotReadyError as e:
        print(f"error: {e}", file=err)
        return 1
    except sa.exc.SQLAlchemyError as e:
        reason = getattr(e, "orig", None) or e
        print(f"error: cannot upgrade the database {display_url(url)}: {reason}", file=err)
        return 1
    finally:
        engine.dispose()
    head = migrate.HEAD_REVISION
    if state.status is migrate.Status.EMPTY:
        say(f"created the database schema (revision {head})")
    elif state.status is migrate.Status.BEHIND:
        say(f"upgraded the database schema from revision {state.revision} to {head}")
    else:
        say(f"the database schema is already current (revision {head})")
    say("upgrade complete")
    return 0
