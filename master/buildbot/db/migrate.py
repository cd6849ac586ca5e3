"""Schema versions: is a database at our head, and bringing it there.

The version lives where Buildbot 4.3 keeps it, in alembic's ``alembic_version``
table, and our migration chain (``buildbot/db/migrations``) starts at Buildbot
4.3's head, revision ``067``; so a database created by Buildbot 4.3 is current
for us, and one we create is current for Buildbot 4.3.

* An empty database gets the whole model (`buildbot.db.model`) created and is
  stamped at our head; migrations are only for databases that already exist.
* A database at a revision of our chain below head is upgraded by alembic.
* Older Buildbot databases are refused, with what to do in the message: the
  revisions of Buildbot 3.x-4.2 (``059``-``066``), a ``migrate_version`` table
  (sqlalchemy-migrate, Buildbot 0.9-2.x) and a ``version`` table (0.8).  The
  Buildbot release that matches can upgrade them to ``067``, which we read.
* Any other revision is unknown: written by a newer Buildbot or by something
  else, and never touched.

Everything here blocks: call it in a database thread
(``pool.do(migrate.thd_check_current)``, ``pool.do_with_engine(migrate.thd_upgrade)``).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from twisted.python import log

from buildbot.db import model as model_module
from buildbot.db.model import Model

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# alembic (and mako, which it loads) is imported only to change a schema or to
# place a revision that is not ours: a master whose database is current, the
# usual case, does without its memory

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

#: Buildbot 4.3's alembic head; our chain starts there
BUILDBOT_4_3_HEAD = "067"

#: the newest revision of our migration scripts (a test holds it to them)
HEAD_REVISION = "067"

#: alembic revisions of Buildbot releases before 4.3 (3.0 started at 059)
OLDER_BUILDBOT_REVISIONS = frozenset(f"{n:03d}" for n in range(59, 67))

#: the final sqlalchemy-migrate version, that of Buildbot 2.10
LAST_SQLALCHEMY_MIGRATE_VERSION = 58

UPGRADE_HINT = "run `buildbot upgrade-master` on the master's basedir"


class DatabaseNotReadyError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""

    def __init__(self, message: str, revision: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision


class DatabaseNeedsUpgradeError(DatabaseNotReadyError):
    """Empty, or at an older revision we can upgrade: `buildbot upgrade-master`."""


class DatabaseTooOldError(DatabaseNotReadyError):
    """Created by a Buildbot older than the oldest schema we upgrade from."""


class UnknownDatabaseRevisionError(DatabaseNotReadyError):
    """At a revision we do not know: a newer Buildbot, or not Buildbot's at all."""


class Status(enum.Enum):
    EMPTY = "empty"  # no tables: create the model
    CURRENT = "current"  # at our head
    BEHIND = "behind"  # in our chain, below head: alembic upgrades it
    TOO_OLD = "too_old"  # an older Buildbot's schema we do not migrate
    UNKNOWN = "unknown"  # a revision we do not know, or no version at all


@dataclass(frozen=True)
class SchemaState:
    """What `thd_inspect` found, with a message for the user."""

    status: Status
    revision: str | None
    message: str

    @property
    def is_current(self) -> bool:
        return self.status is Status.CURRENT

    def error(self) -> DatabaseNotReadyError | None:
        """The exception refusing this state for use, None when it is current."""
        cls = {
            Status.CURRENT: None,
            Status.EMPTY: DatabaseNeedsUpgradeError,
            Status.BEHIND: DatabaseNeedsUpgradeError,
            Status.TOO_OLD: DatabaseTooOldError,
            Status.UNKNOWN: UnknownDatabaseRevisionError,
        }[self.status]
        return None if cls is None else cls(self.message, self.revision)


# --- alembic, configured in code ---------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config for our migrations; no ``alembic.ini`` on disk needed."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.set_main_option("version_locations", os.path.join(MIGRATIONS_DIR, "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return script_directory().get_current_head()


def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in script_directory().walk_revisions())


# --- looking -------------------------------------------------------------------


def _user_tables(conn: Connection) -> set[str]:
    names = set(sa.inspect(conn).get_table_names())
    return {n for n in names if not n.startswith("sqlite_")}


def thd_inspect(conn: Connection) -> SchemaState:
    """Where the database behind ``conn`` stands; changes nothing."""
    tables = _user_tables(conn)
    head = HEAD_REVISION

    if "migrate_version" in tables:
        version = conn.execute(sa.text("SELECT version FROM migrate_version")).scalar()
        if version == LAST_SQLALCHEMY_MIGRATE_VERSION:
            todo = "Upgrade it with Buildbot 4.3 (`buildbot upgrade-master`) first."
        else:
            todo = (
                f"Upgrade it with Buildbot 2.10 (to version {LAST_SQLALCHEMY_MIGRATE_VERSION}), "
                "then with Buildbot 4.3 (`buildbot upgrade-master`) first."
            )
        return SchemaState(
            Status.TOO_OLD,
            None,
            f"the database has a 'migrate_version' table (sqlalchemy-migrate schema version "
            f"{version}): it was made by Buildbot 2.x or older, which this master does not "
            f"upgrade from. {todo}",
        )
    if "version" in tables and "alembic_version" not in tables:
        return SchemaState(
            Status.TOO_OLD,
            None,
            "the database has a 'version' table: it was made by Buildbot 0.8, which this "
            "master cannot upgrade from.",
        )

    revisions: tuple[str, ...] = ()
    if "alembic_version" in tables:
        # what alembic's MigrationContext.get_current_heads() reads
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        revisions = tuple(r[0] for r in rows)

    if not revisions:
        if not tables - {"alembic_version"}:
            return SchemaState(
                Status.EMPTY,
                None,
                f"the database is empty: {UPGRADE_HINT} to create its tables.",
            )
        return SchemaState(
            Status.UNKNOWN,
            None,
            "the database has tables but no schema version ('alembic_version' is missing "
            "or empty): it is not a Buildbot database, or it is damaged. Refusing to use it.",
        )
    if len(revisions) > 1:
        return SchemaState(
            Status.UNKNOWN,
            ",".join(sorted(revisions)),
            f"the database records several schema revisions ({', '.join(sorted(revisions))}); "
            "refusing to use it.",
        )

    revision = revisions[0]
    if revision == head:
        return SchemaState(Status.CURRENT, revision, f"the database is at revision {revision}.")
    if revision in known_revisions():
        return SchemaState(
            Status.BEHIND,
            revision,
            f"the database is at schema revision {revision}, older than this master's "
            f"{head}: {UPGRADE_HINT}.",
        )
    if revision in OLDER_BUILDBOT_REVISIONS:
        return SchemaState(
            Status.TOO_OLD,
            revision,
            f"the database is at Buildbot schema revision {revision}, from a Buildbot older "
            f"than 4.3; this master reads revision {BUILDBOT_4_3_HEAD} and later. Upgrade it "
            f"with Buildbot 4.3 (`buildbot upgrade-master`) first.",
        )
    return SchemaState(
        Status.UNKNOWN,
        revision,
        f"the database is at schema revision {revision!r}, which this master does not know "
        f"(its newest is {head}): it was written by a newer Buildbot, or by another "
        f"program. Refusing to use it.",
    )


def thd_is_current(conn: Connection) -> bool:
    """True when the database is at our head revision."""
    return thd_inspect(conn).is_current


def thd_check_current(conn: Connection) -> None:
    """Raise a `DatabaseNotReadyError` unless the database is at our head."""
    error = thd_inspect(conn).error()
    if error is not None:
        raise error


# --- changing ------------------------------------------------------------------


def thd_stamp_head(conn: Connection) -> None:
    """Record our head revision, whatever was recorded before."""
    from alembic.runtime.migration import MigrationContext

    MigrationContext.configure(conn).stamp(script_directory(), "head")


def _fresh_metadata(dialect_name: str = "") -> sa.MetaData:
    """A private copy of the model's tables, to create them from.

    Creating tables on a back-end that adds the cyclic foreign keys by ALTER
    (PostgreSQL, MySQL) marks those constraints in the metadata used as "not
    inline"; SQLite, which has no such ALTER, would then lose them if it were
    created from the same metadata later in the process.  A copy per creation
    keeps the shared model clean.
    """
    copy = sa.MetaData(naming_convention=Model.metadata.naming_convention)
    for table in Model.metadata.sorted_tables:
        table.to_metadata(copy)
    if dialect_name == "mysql":
        model_module.with_mysql_options(copy)
    return copy


def _alembic_version_table() -> sa.Table:
    # the table alembic would create to stamp a database, made here so that creating
    # a new schema (create-master, a first start) does not import alembic
    return sa.Table(
        "alembic_version",
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )


def thd_create_tables(conn: Connection) -> None:
    """Create every table of the model and stamp it at head (empty database)."""
    _fresh_metadata(conn.dialect.name).create_all(conn)
    version = _alembic_version_table()
    version.create(conn, checkfirst=True)  # an empty one may be there already
    conn.execute(version.delete())
    conn.execute(version.insert().values(version_num=HEAD_REVISION))


def thd_upgrade(engine: Engine) -> SchemaState:
    """Bring the database to our head revision; return the state it was in.

    Creates the schema in an empty database, runs the migrations from an older
    revision of our chain, does nothing at head, and raises the state's
    `DatabaseNotReadyError` for anything else, leaving the database untouched.
    """
    with engine.connect() as conn:
        state = thd_inspect(conn)
        if state.status is Status.EMPTY:
            log.msg("creating the database schema")
            thd_create_tables(conn)
        elif state.status is Status.BEHIND:
            from alembic import command

            log.msg(f"upgrading the database schema from {state.revision} to {head_revision()}")
            command.upgrade(alembic_config(conn), "head")
        elif state.status is not Status.CURRENT:
            conn.rollback()
            raise state.error()  # type: ignore[misc]
        conn.commit()
    return state
