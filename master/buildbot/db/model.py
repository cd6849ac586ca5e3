"""The database schema, in SQLAlchemy Core.

The layout is the one Buildbot 4.3 uses (alembic revision ``067``): same tables,
columns, index and constraint names, so either program can open a database the
other created.  Components reach the tables as attributes of a `Model` instance,
e.g. ``self.db.model.steps``.

Conventions (see ``shared/spec/db-schema.md``): times are integer UNIX epochs,
booleans small integers, ``*_hash`` columns a 40-char SHA-1 hex of the name they
accompany; foreign keys cascade on delete unless marked ``SET NULL``.

Two deliberate differences from 4.3, both invisible on SQLite and PostgreSQL:
MySQL tables are created with ``utf8mb4`` (4.3: ``utf8``, i.e. 3-byte) and an
explicit InnoDB engine.
"""

from __future__ import annotations

import sqlalchemy as sa

# Indexes declared with ``index=True`` on a column would get this name; every
# index below is named explicitly, the convention only guards later additions.
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s"}

# What MySQL/MariaDB needs to create the schema, and the others ignore. It is not
# in the tables themselves: a `mysql_*` option makes SQLAlchemy load its MySQL
# dialect (some twenty modules) in every master; `with_mysql_options` adds them to
# a copy of the tables when a MySQL schema is created.
TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_character_set": "utf8mb4"}
#: index name -> the prefix lengths MySQL needs to index TEXT columns
MYSQL_INDEX_LENGTHS = {
    "test_names_name": {"name": 255},
    "test_code_paths_path": {"path": 255},
}
#: (table, column) of binary values that may exceed a MySQL BLOB's 64 KiB
MYSQL_LONGBLOB_COLUMNS = [("build_data", "value")]

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def with_mysql_options(md: sa.MetaData) -> sa.MetaData:
    """Gives the tables of `md` (a copy of the model's) their MySQL-only options."""
    from sqlalchemy.dialects.mysql import LONGBLOB

    for table in md.tables.values():
        table.dialect_kwargs.update(TABLE_OPTIONS)
        for index in table.indexes:
            if index.name in MYSQL_INDEX_LENGTHS:
                index.dialect_kwargs["mysql_length"] = MYSQL_INDEX_LENGTHS[index.name]
    for table, column in MYSQL_LONGBLOB_COLUMNS:
        md.tables[table].c[column].type = LONGBLOB()
    return md


def _table(name: str, *items: sa.SchemaItem) -> sa.Table:
    return sa.Table(name, metadata, *items)


def _pk(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.Integer, primary_key=True)


def _fk(
    column: str,
    target: str,
    *,
    nullable: bool = False,
    ondelete: str = "CASCADE",
    constraint_name: str | None = None,
    use_alter: bool = False,
) -> sa.Column:
    """An integer column referencing ``target`` ("table.column")."""
    return sa.Column(
        column,
        sa.Integer,
        sa.ForeignKey(target, ondelete=ondelete, name=constraint_name, use_alter=use_alter),
        nullable=nullable,
    )


def _hash(name: str = "name_hash") -> sa.Column:
    return sa.Column(name, sa.String(40), nullable=False)


# --- masters, builders, projects, tags ------------------------------------

masters = _table(
    "masters",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),  # "hostname:basedir"
    _hash(),
    sa.Column("active", sa.Integer, nullable=False),
    sa.Column("last_active", sa.Integer, nullable=False),
    sa.Index("master_name_hashes", "name_hash", unique=True),
)

projects = _table(
    "projects",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    _hash(),
    sa.Column("slug", sa.String(50), nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("description_format", sa.Text, nullable=True),
    sa.Column("description_html", sa.Text, nullable=True),
    sa.Index("projects_name_hash", "name_hash", unique=True),
)

builders = _table(
    "builders",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("description_format", sa.Text, nullable=True),
    sa.Column("description_html", sa.Text, nullable=True),
    _fk(
        "projectid",
        "projects.id",
        nullable=True,
        ondelete="SET NULL",
        constraint_name="fk_builders_projectid",
    ),
    _hash(),
    sa.Index("builder_name_hash", "name_hash", unique=True),
    sa.Index("builders_projectid", "projectid"),
)

builder_masters = _table(
    "builder_masters",
    _pk(),
    _fk("builderid", "builders.id"),
    _fk("masterid", "masters.id"),
    sa.Index("builder_masters_builderid", "builderid"),
    sa.Index("builder_masters_masterid", "masterid"),
    sa.Index("builder_masters_identity", "builderid", "masterid", unique=True),
)

tags = _table(
    "tags",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    _hash(),
    sa.Index("tag_name_hash", "name_hash", unique=True),
)

builders_tags = _table(
    "builders_tags",
    _pk(),
    _fk("builderid", "builders.id"),
    _fk("tagid", "tags.id"),
    sa.Index("builders_tags_builderid", "builderid"),
    sa.Index("builders_tags_unique", "builderid", "tagid", unique=True),
)

# --- workers ----------------------------------------------------------------

workers = _table(
    "workers",
    _pk(),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("info", sa.Text, nullable=False),  # JSON {admin, host, access_uri, version}
    sa.Column("paused", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("pause_reason", sa.Text, nullable=True),
    sa.Column("graceful", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Index("workers_name", "name", unique=True),
)

connected_workers = _table(
    "connected_workers",
    _pk(),
    _fk("masterid", "masters.id"),
    _fk("workerid", "workers.id"),
    sa.Index("connected_workers_masterid", "masterid"),
    sa.Index("connected_workers_workers", "workerid"),
    sa.Index("connected_workers_identity", "masterid", "workerid", unique=True),
)

configured_workers = _table(
    "configured_workers",
    _pk(),
    _fk("buildermasterid", "builder_masters.id"),
    _fk("workerid", "workers.id"),
    sa.Index("configured_workers_buildmasterid", "buildermasterid"),
    sa.Index("configured_workers_workers", "workerid"),
    sa.Index("configured_workers_identity", "buildermasterid", "workerid", unique=True),
)

# --- schedulers and change sources -------------------------------------------

schedulers = _table(
    "schedulers",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    _hash(),
    sa.Column("enabled", sa.SmallInteger, server_default="1"),
    sa.Index("scheduler_name_hash", "name_hash", unique=True),
)

scheduler_masters = _table(
    "scheduler_masters",
    sa.Column(
        "schedulerid",
        sa.Integer,
        sa.ForeignKey("schedulers.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=True,
    ),
    _fk("masterid", "masters.id"),
)

scheduler_changes = _table(
    "scheduler_changes",
    _fk("schedulerid", "schedulers.id"),
    _fk("changeid", "changes.changeid"),
    sa.Column("important", sa.Integer),  # boolean; NULL counts as false
    sa.Index("scheduler_changes_schedulerid", "schedulerid"),
    sa.Index("scheduler_changes_changeid", "changeid"),
    sa.Index("scheduler_changes_unique", "schedulerid", "changeid", unique=True),
)

changesources = _table(
    "changesources",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    _hash(),
    sa.Index("changesource_name_hash", "name_hash", unique=True),
)

changesource_masters = _table(
    "changesource_masters",
    sa.Column(
        "changesourceid",
        sa.Integer,
        sa.ForeignKey("changesources.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=True,
    ),
    _fk("masterid", "masters.id"),
)

# --- changes, sourcestamps, patches, users -----------------------------------

patches = _table(
    "patches",
    _pk(),
    sa.Column("patchlevel", sa.Integer, nullable=False),
    sa.Column("patch_base64", sa.Text, nullable=False),
    sa.Column("patch_author", sa.Text, nullable=False),
    sa.Column("patch_comment", sa.Text, nullable=False),
    sa.Column("subdir", sa.Text),
)

sourcestamps = _table(
    "sourcestamps",
    _pk(),
    sa.Column("ss_hash", sa.String(40), nullable=False),
    sa.Column("branch", sa.String(256)),
    sa.Column("revision", sa.String(256)),
    _fk("patchid", "patches.id", nullable=True),
    sa.Column("repository", sa.String(length=512), nullable=False, server_default=""),
    sa.Column("codebase", sa.String(256), nullable=False, server_default=""),
    sa.Column("project", sa.String(length=512), nullable=False, server_default=""),
    sa.Column("created_at", sa.Integer, nullable=False),
    sa.Index("sourcestamps_ss_hash_key", "ss_hash", unique=True),
)

changes = _table(
    "changes",
    _pk("changeid"),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("committer", sa.String(255), nullable=True),
    sa.Column("comments", sa.Text, nullable=False),
    sa.Column("branch", sa.String(255)),
    sa.Column("revision", sa.String(255)),
    sa.Column("revlink", sa.String(256)),
    sa.Column("when_timestamp", sa.Integer, nullable=False),
    sa.Column("category", sa.String(255)),
    sa.Column("repository", sa.String(length=512), nullable=False, server_default=""),
    sa.Column("codebase", sa.String(256), nullable=False, server_default=""),
    sa.Column("project", sa.String(length=512), nullable=False, server_default=""),
    _fk("sourcestampid", "sourcestamps.id"),
    _fk("parent_changeids", "changes.changeid", nullable=True, ondelete="SET NULL"),
    sa.Index("changes_branch", "branch"),
    sa.Index("changes_revision", "revision"),
    sa.Index("changes_author", "author"),
    sa.Index("changes_category", "category"),
    sa.Index("changes_when_timestamp", "when_timestamp"),
    sa.Index("changes_sourcestampid", "sourcestampid"),
)

change_files = _table(
    "change_files",
    _fk("changeid", "changes.changeid"),
    sa.Column("filename", sa.String(1024), nullable=False),
    sa.Index("change_files_changeid", "changeid"),
)

change_properties = _table(
    "change_properties",
    _fk("changeid", "changes.changeid"),
    sa.Column("property_name", sa.String(256), nullable=False),
    sa.Column("property_value", sa.Text, nullable=False),  # JSON [value, "Change"]
    sa.Index("change_properties_changeid", "changeid"),
)

users = _table(
    "users",
    _pk("uid"),
    sa.Column("identifier", sa.String(255), nullable=False),
    sa.Column("bb_username", sa.String(128)),
    sa.Column("bb_password", sa.String(128)),
    sa.Index("users_identifier", "identifier", unique=True),
    sa.Index("users_bb_user", "bb_username", unique=True),
)

change_users = _table(
    "change_users",
    _fk("changeid", "changes.changeid"),
    _fk("uid", "users.uid"),
    sa.Index("change_users_changeid", "changeid"),
)

users_info = _table(
    "users_info",
    _fk("uid", "users.uid"),
    sa.Column("attr_type", sa.String(128), nullable=False),
    sa.Column("attr_data", sa.String(128), nullable=False),
    sa.Index("users_info_uid", "uid"),
    sa.Index("users_info_uid_attr_type", "uid", "attr_type", unique=True),
    sa.Index("users_info_attrs", "attr_type", "attr_data", unique=True),
)

# --- buildsets and build requests --------------------------------------------

# buildsets -> builds -> buildrequests -> buildsets is a cycle: the two
# references to builds are named and added after the tables on back-ends that
# support ALTER TABLE (SQLite keeps them inline).
buildsets = _table(
    "buildsets",
    _pk(),
    sa.Column("external_idstring", sa.String(256)),
    sa.Column("reason", sa.String(256)),
    sa.Column("submitted_at", sa.Integer, nullable=False),
    sa.Column("complete", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("complete_at", sa.Integer),
    sa.Column("results", sa.SmallInteger),
    _fk(
        "parent_buildid",
        "builds.id",
        nullable=True,
        ondelete="SET NULL",
        constraint_name="parent_buildid",
        use_alter=True,
    ),
    sa.Column("parent_relationship", sa.Text),
    _fk(
        "rebuilt_buildid",
        "builds.id",
        nullable=True,
        ondelete="SET NULL",
        constraint_name="rebuilt_buildid",
        use_alter=True,
    ),
    sa.Index("buildsets_complete", "complete"),
    sa.Index("buildsets_submitted_at", "submitted_at"),
)

buildset_properties = _table(
    "buildset_properties",
    _fk("buildsetid", "buildsets.id"),
    sa.Column("property_name", sa.String(256), nullable=False),
    sa.Column("property_value", sa.Text, nullable=False),  # JSON [value, source]
    sa.Index("buildset_properties_buildsetid", "buildsetid"),
)

buildset_sourcestamps = _table(
    "buildset_sourcestamps",
    _pk(),
    _fk("buildsetid", "buildsets.id"),
    _fk("sourcestampid", "sourcestamps.id"),
    sa.Index("buildset_sourcestamps_buildsetid", "buildsetid"),
    sa.Index("buildset_sourcestamps_unique", "buildsetid", "sourcestampid", unique=True),
)

buildrequests = _table(
    "buildrequests",
    _pk(),
    _fk("buildsetid", "buildsets.id"),
    _fk("builderid", "builders.id"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("complete", sa.Integer, server_default="0"),
    sa.Column("results", sa.SmallInteger),
    sa.Column("submitted_at", sa.Integer, nullable=False),
    sa.Column("complete_at", sa.Integer),
    sa.Column("waited_for", sa.SmallInteger, server_default="0"),
    sa.Index("buildrequests_buildsetid", "buildsetid"),
    sa.Index("buildrequests_builderid", "builderid"),
    sa.Index("buildrequests_complete", "complete"),
)

# Claiming a request = inserting its row here; the unique index on brid is what
# keeps two masters from claiming the same request.
buildrequest_claims = _table(
    "buildrequest_claims",
    _fk("brid", "buildrequests.id"),
    _fk("masterid", "masters.id"),
    sa.Column("claimed_at", sa.Integer, nullable=False),
    sa.Index("buildrequest_claims_brids", "brid", unique=True),
    sa.Index("ix_buildrequest_claims_masterid", "masterid"),
)

# --- builds, steps, logs ------------------------------------------------------

builds = _table(
    "builds",
    _pk(),
    sa.Column("number", sa.Integer, nullable=False),
    _fk("builderid", "builders.id"),
    _fk("buildrequestid", "buildrequests.id", constraint_name="buildrequestid", use_alter=True),
    _fk("workerid", "workers.id", nullable=True, ondelete="SET NULL"),
    _fk("masterid", "masters.id"),
    sa.Column("started_at", sa.Integer, nullable=False),
    sa.Column("complete_at", sa.Integer),
    sa.Column("locks_duration_s", sa.Integer, nullable=False),
    sa.Column("state_string", sa.Text, nullable=False),
    sa.Column("results", sa.Integer),
    sa.Index("builds_number", "builderid", "number", unique=True),
    sa.Index("builds_buildrequestid", "buildrequestid"),
    sa.Index("builds_workerid", "workerid"),
    sa.Index("builds_masterid", "masterid"),
)

build_properties = _table(
    "build_properties",
    _fk("buildid", "builds.id"),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("value", sa.Text, nullable=False),  # JSON
    sa.Column("source", sa.String(256), nullable=False),
    sa.Index("build_properties_buildid", "buildid"),
)

build_data = _table(
    "build_data",
    _pk(),
    _fk("buildid", "builds.id"),
    sa.Column("name", sa.String(256), nullable=False),
    # a LONGBLOB on MySQL (MYSQL_LONGBLOB_COLUMNS), where a plain BLOB stops at 64 KiB
    sa.Column("value", sa.LargeBinary(), nullable=False),
    sa.Column("length", sa.Integer, nullable=False),
    sa.Column("source", sa.String(256), nullable=False),
    sa.Index("build_data_buildid_name", "buildid", "name", unique=True),
)

steps = _table(
    "steps",
    _pk(),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    _fk("buildid", "builds.id"),
    sa.Column("started_at", sa.Integer),
    sa.Column("locks_acquired_at", sa.Integer),
    sa.Column("complete_at", sa.Integer),
    sa.Column("state_string", sa.Text, nullable=False),
    sa.Column("results", sa.Integer),
    sa.Column("urls_json", sa.Text, nullable=False),  # JSON [{name, url}, ...]
    sa.Column("hidden", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Index("steps_number", "buildid", "number", unique=True),
    sa.Index("steps_name", "buildid", "name", unique=True),
    sa.Index("steps_started_at", "started_at"),
)

logs = _table(
    "logs",
    _pk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("slug", sa.String(50), nullable=False),
    _fk("stepid", "steps.id"),
    sa.Column("complete", sa.SmallInteger, nullable=False),
    sa.Column("num_lines", sa.Integer, nullable=False),
    sa.Column("type", sa.String(1), nullable=False),  # s(tream), t(ext), h(tml), d(eleted)
    sa.Index("logs_slug", "stepid", "slug", unique=True),
)

logchunks = _table(
    "logchunks",
    _fk("logid", "logs.id"),
    # 0-based, inclusive line numbers of the lines held in this chunk
    sa.Column("first_line", sa.Integer, nullable=False),
    sa.Column("last_line", sa.Integer, nullable=False),
    sa.Column("content", sa.LargeBinary(65536)),
    sa.Column("compressed", sa.SmallInteger, nullable=False),  # 0 raw, 1 gz, 2 bz2, ...
    sa.Index("logchunks_firstline", "logid", "first_line"),
    sa.Index("logchunks_lastline", "logid", "last_line"),
)

# --- test results -------------------------------------------------------------

test_result_sets = _table(
    "test_result_sets",
    _pk(),
    _fk("builderid", "builders.id"),
    _fk("buildid", "builds.id"),
    _fk("stepid", "steps.id"),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("value_unit", sa.Text, nullable=False),
    sa.Column("tests_passed", sa.Integer, nullable=True),
    sa.Column("tests_failed", sa.Integer, nullable=True),
    sa.Column("complete", sa.SmallInteger, nullable=False),
)

test_names = _table(
    "test_names",
    _pk(),
    _fk("builderid", "builders.id"),
    sa.Column("name", sa.Text, nullable=False),
    # MySQL cannot index a whole TEXT column: a prefix there (MYSQL_INDEX_LENGTHS)
    sa.Index("test_names_name", "builderid", "name"),
)

test_code_paths = _table(
    "test_code_paths",
    _pk(),
    _fk("builderid", "builders.id"),
    sa.Column("path", sa.Text, nullable=False),
    sa.Index("test_code_paths_path", "builderid", "path"),
)

test_results = _table(
    "test_results",
    _pk(),
    _fk("builderid", "builders.id"),
    _fk("test_result_setid", "test_result_sets.id"),
    _fk("test_nameid", "test_names.id", nullable=True),
    _fk("test_code_pathid", "test_code_paths.id", nullable=True),
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("duration_ns", sa.Integer, nullable=True),
    sa.Column("value", sa.Text, nullable=False),
)

# --- codebase tracking (4.3, experimental) -------------------------------------

codebases = _table(
    "codebases",
    _pk(),
    _fk("projectid", "projects.id"),
    sa.Column("name", sa.Text, nullable=False),
    _hash(),
    sa.Column("slug", sa.String(50), nullable=False),
    sa.Index("codebases_projects_name_hash", "projectid", "name_hash", unique=True),
)

codebase_commits = _table(
    "codebase_commits",
    _pk(),
    _fk("codebaseid", "codebases.id"),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("committer", sa.String(255), nullable=True),
    sa.Column("comments", sa.Text, nullable=False),
    sa.Column("when_timestamp", sa.Integer, nullable=False),
    sa.Column("revision", sa.String(70), nullable=False),
    _fk("parent_commitid", "codebase_commits.id", nullable=True, ondelete="SET NULL"),
    sa.Index("codebase_commits_unique", "codebaseid", "revision", unique=True),
)

codebase_branches = _table(
    "codebase_branches",
    _pk(),
    _fk("codebaseid", "codebases.id"),
    sa.Column("name", sa.String(255), nullable=False),
    _hash(),
    _fk("commitid", "codebase_commits.id", nullable=True, ondelete="SET NULL"),
    sa.Column("last_timestamp", sa.Integer, nullable=False),
    sa.Index("codebase_branches_unique", "codebaseid", "name_hash", unique=True),
)

# --- generic object state -----------------------------------------------------

# An object is identified by (configured name, fully qualified class name).
objects = _table(
    "objects",
    _pk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("class_name", sa.String(128), nullable=False),
    sa.Index("object_identity", "name", "class_name", unique=True),
)

object_state = _table(
    "object_state",
    _fk("objectid", "objects.id"),
    sa.Column("name", sa.String(length=255), nullable=False),
    sa.Column("value_json", sa.Text, nullable=False),
    sa.Index("name_per_object", "objectid", "name", unique=True),
)


class Model:
    """The schema, as seen by the rest of the master.

    Every table is an attribute (``model.builds``, ``model.steps``...), also
    reachable on the class itself; ``metadata`` holds them all.  ``db`` is the
    owning connector, kept for the components that reach the model through it.
    """

    metadata = metadata

    def __init__(self, db=None) -> None:
        self.db = db

    @classmethod
    def table_names(cls) -> list[str]:
        return sorted(cls.metadata.tables)

    masters = masters
    projects = projects
    builders = builders
    builder_masters = builder_masters
    tags = tags
    builders_tags = builders_tags
    workers = workers
    connected_workers = connected_workers
    configured_workers = configured_workers
    schedulers = schedulers
    scheduler_masters = scheduler_masters
    scheduler_changes = scheduler_changes
    changesources = changesources
    changesource_masters = changesource_masters
    patches = patches
    sourcestamps = sourcestamps
    changes = changes
    change_files = change_files
    change_properties = change_properties
    users = users
    change_users = change_users
    users_info = users_info
    buildsets = buildsets
    buildset_properties = buildset_properties
    buildset_sourcestamps = buildset_sourcestamps
    buildrequests = buildrequests
    buildrequest_claims = buildrequest_claims
    builds = builds
    build_properties = build_properties
    build_data = build_data
    steps = steps
    logs = logs
    logchunks = logchunks
    test_result_sets = test_result_sets
    test_names = test_names
    test_code_paths = test_code_paths
    test_results = test_results
    codebases = codebases
    codebase_commits = codebase_commits
    codebase_branches = codebase_branches
    objects = objects
    object_state = object_state
