"""Rows of test data, one class per table, for the fake and the real databases alike.

    yield self.insert_test_data([fakedb.Master(id=1), fakedb.Builder(id=7, name="b")])

Columns default as the model says; `*_hash` columns are computed from the
columns they hash unless given. An unknown column is an error at once.
"""

from __future__ import annotations

from typing import Any

from buildbot.db import base, model


class Row:
    table: str = ""
    #: (hash column, columns it hashes)
    hashed_columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: test-data conveniences beyond the model's own defaults
    defaults: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        columns = model.Model.metadata.tables[self.table].c
        unknown = set(kwargs) - set(columns.keys())
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: table {self.table} has no column(s) "
                + ", ".join(sorted(unknown))
            )
        values = dict(self.defaults)
        values.update(kwargs)
        for hash_column, sources in self.hashed_columns:
            if values.get(hash_column) is None:
                values[hash_column] = base.hash_columns(*(values.get(c) for c in sources))
        self.values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values!r})"


class Master(Row):
    table = "masters"
    hashed_columns = (("name_hash", ("name",)),)
    defaults = {"name": "some:master", "active": 1, "last_active": 9998999}


class Project(Row):
    table = "projects"
    hashed_columns = (("name_hash", ("name",)),)
    defaults = {"name": "fake_project", "slug": "fake_project"}


class Builder(Row):
    table = "builders"
    hashed_columns = (("name_hash", ("name",)),)
    defaults = {"name": "some:builder"}


class BuilderMaster(Row):
    table = "builder_masters"


class Tag(Row):
    table = "tags"
    hashed_columns = (("name_hash", ("name",)),)


class BuildersTags(Row):
    table = "builders_tags"


class Worker(Row):
    table = "workers"
    defaults = {"name": "some:worker", "info": "{}"}


class ConnectedWorker(Row):
    table = "connected_workers"


class ConfiguredWorker(Row):
    table = "configured_workers"


class Scheduler(Row):
    table = "schedulers"
    hashed_columns = (("name_hash", ("name",)),)


class SchedulerMaster(Row):
    table = "scheduler_masters"


class SchedulerChange(Row):
    table = "scheduler_changes"


class ChangeSource(Row):
    table = "changesources"
    hashed_columns = (("name_hash", ("name",)),)


class ChangeSourceMaster(Row):
    table = "changesource_masters"


class Patch(Row):
    table = "patches"


class SourceStamp(Row):
    table = "sourcestamps"
    hashed_columns = (
        ("ss_hash", ("branch", "revision", "repository", "project", "codebase", "patchid")),
    )
    defaults = {"repository": "repo", "codebase": "", "project": "proj", "created_at": 89834834}


class Change(Row):
    table = "changes"
    defaults = {
        "author": "frank",
        "comments": "test change",
        "when_timestamp": 1234567890,
        "repository": "repo",
        "codebase": "",
        "project": "proj",
    }


class ChangeFile(Row):
    table = "change_files"


class ChangeProperty(Row):
    table = "change_properties"


class User(Row):
    table = "users"


class ChangeUser(Row):
    table = "change_users"


class UserInfo(Row):
    table = "users_info"


class Buildset(Row):
    table = "buildsets"
    defaults = {"submitted_at": 12345678, "complete": 0, "reason": "because"}


class BuildsetProperty(Row):
    table = "buildset_properties"


class BuildsetSourceStamp(Row):
    table = "buildset_sourcestamps"


class BuildRequest(Row):
    table = "buildrequests"
    defaults = {"priority": 0, "complete": 0, "submitted_at": 12345678, "waited_for": 0}


class BuildRequestClaim(Row):
    table = "buildrequest_claims"


class Build(Row):
    table = "builds"
    defaults = {
        "number": 29,
        "started_at": 1304262222,
        "state_string": "test",
        "locks_duration_s": 0,
    }


class BuildProperty(Row):
    table = "build_properties"


class BuildData(Row):
    table = "build_data"


class Step(Row):
    table = "steps"
    defaults = {"number": 29, "name": "step29", "state_string": "", "urls_json": "[]", "hidden": 0}


class Log(Row):
    table = "logs"
    defaults = {"name": "log29", "slug": "log29", "complete": 0, "num_lines": 0, "type": "s"}


class LogChunk(Row):
    table = "logchunks"


class Object(Row):
    table = "objects"


class ObjectState(Row):
    table = "object_state"


class TestResultSet(Row):
    table = "test_result_sets"


class TestName(Row):
    table = "test_names"


class TestCodePath(Row):
    table = "test_code_paths"


class TestResult(Row):
    table = "test_results"


class Codebase(Row):
    table = "codebases"
    hashed_columns = (("name_hash", ("name",)),)
    defaults = {"name": "fake_codebase", "slug": "fake_codebase"}


class CodebaseCommit(Row):
    table = "codebase_commits"
    defaults = {"author": "me", "comments": "msg", "when_timestamp": 1234567}


class CodebaseBranch(Row):
    table = "codebase_branches"
    hashed_columns = (("name_hash", ("name",)),)
    defaults = {"last_timestamp": 1234567}
