from __future__ import annotations

import os
import re
import subprocess
import sys

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.schema import CreateIndex, CreateTable
from twisted.trial import unittest

from buildbot.db import enginestrategy, migrate, model
from buildbot.test.unit.db import schema_facts

# The tables of shared/spec/db-schema.md section 2: the columns in order, then
# the indexes, "U" marking unique ones; columns in parentheses when the spec
# names them (otherwise the single column the index name ends with).
SPEC_TABLES: dict[str, tuple[str, list[str]]] = {
    "masters": (
        "id name name_hash active last_active",
        ["U master_name_hashes(name_hash)"],
    ),
    "builders": (
        "id name description description_format description_html projectid name_hash",
        ["U builder_name_hash(name_hash)", "builders_projectid(projectid)"],
    ),
    "builder_masters": (
        "id builderid masterid",
        [
            "U builder_masters_identity(builderid, masterid)",
            "builder_masters_builderid(builderid)",
            "builder_masters_masterid(masterid)",
        ],
    ),
    "projects": (
        "id name name_hash slug description description_format description_html",
        ["U projects_name_hash(name_hash)"],
    ),
    "tags": ("id name name_hash", ["U tag_name_hash(name_hash)"]),
    "builders_tags": (
        "id builderid tagid",
        ["U builders_tags_unique(builderid, tagid)", "builders_tags_builderid(builderid)"],
    ),
    "workers": (
        "id name info paused pause_reason graceful",
        ["U workers_name(name)"],
    ),
    "connected_workers": (
        "id masterid workerid",
        [
            "U connected_workers_identity(masterid, workerid)",
            "connected_workers_masterid(masterid)",
            "connected_workers_workers(workerid)",
        ],
    ),
    "configured_workers": (
        "id buildermasterid workerid",
        [
            "U configured_workers_identity(buildermasterid, workerid)",
            "configured_workers_buildmasterid(buildermasterid)",
            "configured_workers_workers(workerid)",
        ],
    ),
    "schedulers": ("id name name_hash enabled", ["U scheduler_name_hash(name_hash)"]),
    "scheduler_masters": ("schedulerid masterid", []),
    "scheduler_changes": (
        "schedulerid changeid important",
        [
            "U scheduler_changes_unique(schedulerid, changeid)",
            "scheduler_changes_schedulerid(schedulerid)",
            "scheduler_changes_changeid(changeid)",
        ],
    ),
    "changesources": ("id name name_hash", ["U changesource_name_hash(name_hash)"]),
    "changesource_masters": ("changesourceid masterid", []),
    "changes": (
        "changeid author committer comments branch revision revlink when_timestamp "
        "category repository codebase project sourcestampid parent_changeids",
        [
            "changes_author(author)",
            "changes_branch(branch)",
            "changes_category(category)",
            "changes_revision(revision)",
            "changes_sourcestampid(sourcestampid)",
            "changes_when_timestamp(when_timestamp)",
        ],
    ),
    "change_files": ("changeid filename", ["change_files_changeid(changeid)"]),
    "change_properties": (
        "changeid property_name property_value",
        ["change_properties_changeid(changeid)"],
    ),
    "change_users": ("changeid uid", ["change_users_changeid(changeid)"]),
    "sourcestamps": (
        "id ss_hash branch revision patchid repository codebase project created_at",
        ["U sourcestamps_ss_hash_key(ss_hash)"],
    ),
    "patches": ("id patchlevel patch_base64 patch_author patch_comment subdir", []),
    "users": (
        "uid identifier bb_username bb_password",
        ["U users_identifier(identifier)", "U users_bb_user(bb_username)"],
    ),
    "users_info": (
        "uid attr_type attr_data",
        [
            "U users_info_attrs(attr_type, attr_data)",
            "U users_info_uid_attr_type(uid, attr_type)",
            "users_info_uid(uid)",
        ],
    ),
    "buildsets": (
        "id external_idstring reason submitted_at complete complete_at results "
        "parent_buildid parent_relationship rebuilt_buildid",
        ["buildsets_complete(complete)", "buildsets_submitted_at(submitted_at)"],
    ),
    "buildset_properties": (
        "buildsetid property_name property_value",
        ["buildset_properties_buildsetid(buildsetid)"],
    ),
    "buildset_sourcestamps": (
        "id buildsetid sourcestampid",
        [
            "U buildset_sourcestamps_unique(buildsetid, sourcestampid)",
            "buildset_sourcestamps_buildsetid(buildsetid)",
        ],
    ),
    "buildrequests": (
        "id buildsetid builderid priority complete results submitted_at complete_at waited_for",
        [
            "buildrequests_builderid(builderid)",
            "buildrequests_buildsetid(buildsetid)",
            "buildrequests_complete(complete)",
        ],
    ),
    "buildrequest_claims": (
        "brid masterid claimed_at",
        ["U buildrequest_claims_brids(brid)", "ix_buildrequest_claims_masterid(masterid)"],
    ),
    "builds": (
        "id number builderid buildrequestid workerid masterid started_at complete_at "
        "locks_duration_s state_string results",
        [
            "U builds_number(builderid, number)",
            "builds_buildrequestid(buildrequestid)",
            "builds_masterid(masterid)",
            "builds_workerid(workerid)",
        ],
    ),
    "build_properties": ("buildid name value source", ["build_properties_buildid(buildid)"]),
    "build_data": (
        "id buildid name value length source",
        ["U build_data_buildid_name(buildid, name)"],
    ),
    "steps": (
        "id number name buildid started_at locks_acquired_at complete_at state_string "
        "results urls_json hidden",
        [
            "U steps_number(buildid, number)",
            "U steps_name(buildid, name)",
            "steps_started_at(started_at)",
        ],
    ),
    "logs": ("id name slug stepid complete num_lines type", ["U logs_slug(stepid, slug)"]),
    "logchunks": (
        "logid first_line last_line content compressed",
        ["logchunks_firstline(logid, first_line)", "logchunks_lastline(logid, last_line)"],
    ),
    "test_result_sets": (
        "id builderid buildid stepid description category value_unit tests_passed "
        "tests_failed complete",
        [],
    ),
    "test_names": ("id builderid name", ["test_names_name(builderid, name)"]),
    "test_code_paths": ("id builderid path", ["test_code_paths_path(builderid, path)"]),
    "test_results": (
        "id builderid test_result_setid test_nameid test_code_pathid line duration_ns value",
        [],
    ),
    "codebases": (
        "id projectid name name_hash slug",
        ["U codebases_projects_name_hash(projectid, name_hash)"],
    ),
    "codebase_commits": (
        "id codebaseid author committer comments when_timestamp revision parent_commitid",
        ["U codebase_commits_unique(codebaseid, revision)"],
    ),
    "codebase_branches": (
        "id codebaseid name name_hash commitid last_timestamp",
        ["U codebase_branches_unique(codebaseid, name_hash)"],
    ),
    "objects": ("id name class_name", ["U object_identity(name, class_name)"]),
    "object_state": ("objectid name value_json", ["U name_per_object(objectid, name)"]),
}

# foreign keys the spec marks SET NULL; every other one cascades
SPEC_SET_NULL = {
    ("builders", "projectid"),
    ("changes", "parent_changeids"),
    ("buildsets", "parent_buildid"),
    ("buildsets", "rebuilt_buildid"),
    ("builds", "workerid"),
    ("codebase_commits", "parent_commitid"),
    ("codebase_branches", "commitid"),
}

_INDEX_RE = re.compile(r"^(U )?(\w+)\(([\w, ]+)\)$")


def _parse_index(spec: str) -> tuple[str, bool, list[str]]:
    m = _INDEX_RE.match(spec)
    assert m, spec
    return m.group(2), bool(m.group(1)), [c.strip() for c in m.group(3).split(",")]


class SqliteDbMixin:
    def make_engine(self, name="state.sqlite"):
        basedir = os.path.abspath(self.mktemp())
        os.makedirs(basedir)
        engine = enginestrategy.create_engine(f"sqlite:///{name}", basedir=basedir)
        self.addCleanup(engine.dispose)
        return engine


class TestModel(SqliteDbMixin, unittest.TestCase):
    def test_tables_are_attributes(self):
        m = model.Model()
        self.assertEqual(sorted(model.Model.metadata.tables), sorted(SPEC_TABLES))
        for name, table in model.Model.metadata.tables.items():
            self.assertIs(getattr(m, name), table)
            self.assertIs(getattr(model.Model, name), table)
        self.assertIs(m.steps, model.steps)
        self.assertEqual(model.Model.table_names(), sorted(SPEC_TABLES))

    def test_model_keeps_db(self):
        db = object()
        self.assertIs(model.Model(db).db, db)

    def test_columns_match_spec(self):
        for name, (columns, _) in SPEC_TABLES.items():
            table = model.Model.metadata.tables[name]
            self.assertEqual([c.name for c in table.columns], columns.split(), name)

    def test_indexes_match_spec(self):
        for name, (_, indexes) in SPEC_TABLES.items():
            table = model.Model.metadata.tables[name]
            got = {ix.name: (ix.unique, [c.name for c in ix.columns]) for ix in table.indexes}
            expected = {}
            for spec in indexes:
                ix_name, unique, cols = _parse_index(spec)
                expected[ix_name] = (unique, cols)
            self.assertEqual(got, expected, name)

    def test_foreign_key_actions_match_spec(self):
        for table in model.Model.metadata.tables.values():
            for fk in table.foreign_keys:
                key = (table.name, fk.parent.name)
                expected = "SET NULL" if key in SPEC_SET_NULL else "CASCADE"
                self.assertEqual(fk.ondelete, expected, key)

    def test_create_all_on_sqlite(self):
        engine = self.make_engine()
        with engine.begin() as conn:
            model.Model.metadata.create_all(conn)
        with engine.connect() as conn:
            facts = schema_facts.reflect_schema(conn)
        self.assertEqual(sorted(facts), sorted(SPEC_TABLES))
        for name, (columns, indexes) in SPEC_TABLES.items():
            self.assertEqual([c["name"] for c in facts[name]["columns"]], columns.split())
            for spec in indexes:
                ix_name, unique, cols = _parse_index(spec)
                self.assertEqual(
                    facts[name]["indexes"][ix_name], {"columns": cols, "unique": unique}
                )

    def test_same_schema_as_buildbot_4_3(self):
        """Reflected, our fresh database equals the one Buildbot 4.3 creates."""
        engine = self.make_engine()
        with engine.connect() as conn:
            migrate.thd_create_tables(conn)
            conn.commit()
            ours = schema_facts.reflect_schema(conn)
        theirs = schema_facts.load_snapshot()
        self.assertEqual(sorted(ours), sorted(theirs))
        for name in theirs:
            for key in ("columns", "primary_key", "indexes", "unique_constraints"):
                self.assertEqual(ours[name][key], theirs[name][key], (name, key))
            self.assertEqual(ours[name]["foreign_keys"], theirs[name]["foreign_keys"], name)

    def test_snapshot_is_of_our_baseline_revision(self):
        import json

        with open(schema_facts.SNAPSHOT_PATH, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["alembic_revision"], migrate.BUILDBOT_4_3_HEAD)

    def test_string_lengths(self):
        t = model.Model.metadata.tables
        self.assertEqual(t["workers"].c.name.type.length, 50)
        self.assertEqual(t["masters"].c.name_hash.type.length, 40)
        self.assertEqual(t["steps"].c.name.type.length, 50)
        self.assertEqual(t["logs"].c.type.type.length, 1)
        self.assertEqual(t["change_files"].c.filename.type.length, 1024)
        self.assertEqual(t["codebase_commits"].c.revision.type.length, 70)
        self.assertEqual(t["logchunks"].c.content.type.length, 65536)

    def test_mysql_ddl(self):
        dialect = mysql.dialect()
        tables = migrate._fresh_metadata("mysql").tables
        ddl = str(CreateTable(tables["test_names"]).compile(dialect=dialect))
        self.assertIn("ENGINE=InnoDB", ddl)
        self.assertIn("CHARACTER SET utf8mb4", ddl)
        for name, prefix in (("test_names", "name(255)"), ("test_code_paths", "path(255)")):
            (ix,) = tables[name].indexes
            self.assertIn(prefix, str(CreateIndex(ix).compile(dialect=dialect)))
        build_data = str(CreateTable(tables["build_data"]).compile(dialect=dialect))
        self.assertIn("value LONGBLOB NOT NULL", build_data)
        # the shared model stays free of them (and of the MySQL dialect they load)
        plain = str(CreateTable(model.test_names).compile(dialect=dialect))
        self.assertNotIn("ENGINE=InnoDB", plain)
        self.assertEqual(dict(model.build_data.dialect_kwargs), {})

    def test_model_does_not_load_the_mysql_dialect(self):
        code = (
            "import sys, buildbot.db.migrate, buildbot.db.connector; "
            "print(sorted(m for m in sys.modules if 'dialects.mysql' in m))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        self.assertEqual(out.strip(), "[]")

    def test_postgresql_cycle_is_broken_by_named_constraints(self):
        """buildsets -> builds -> buildrequests -> buildsets: those are added by ALTER."""
        named = {
            fk.name: fk.use_alter
            for table in model.Model.metadata.tables.values()
            for fk in table.foreign_key_constraints
            if fk.name
        }
        self.assertEqual(
            named,
            {
                "parent_buildid": True,
                "rebuilt_buildid": True,
                "buildrequestid": True,
                "fk_builders_projectid": False,
            },
        )
        # compiles for PostgreSQL in dependency order without a cycle warning
        for table in model.Model.metadata.sorted_tables:
            str(CreateTable(table).compile(dialect=postgresql.dialect()))

    def test_defaults(self):
        t = model.Model.metadata.tables
        for table, column, default in (
            ("workers", "paused", "0"),
            ("workers", "graceful", "0"),
            ("schedulers", "enabled", "1"),
            ("buildsets", "complete", "0"),
            ("buildrequests", "priority", "0"),
            ("buildrequests", "complete", "0"),
            ("buildrequests", "waited_for", "0"),
            ("steps", "hidden", "0"),
            ("changes", "repository", ""),
            ("sourcestamps", "codebase", ""),
        ):
            self.assertEqual(t[table].c[column].server_default.arg, default, (table, column))

    def test_insert_with_defaults(self):
        engine = self.make_engine()
        with engine.begin() as conn:
            model.Model.metadata.create_all(conn)
            conn.execute(model.workers.insert().values(name="w", info="{}"))
            row = conn.execute(sa.select(model.workers)).one()
        self.assertEqual((row.id, row.paused, row.graceful, row.pause_reason), (1, 0, 0, None))
