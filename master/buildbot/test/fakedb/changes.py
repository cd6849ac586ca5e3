from __future__ import annotations

import json

from twisted.internet import defer

from buildbot.db.changes import SUCCESS, ChangeModel, decode_property, walk_changes_between
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.test.fakedb.sourcestamps import find_sourcestamp_id
from buildbot.test.fakedb.store import integrity_error
from buildbot.util import datetime2epoch, epoch2datetime


class FakeChangesComponent(FakeDBComponent):
    def _check_length(self, table: str, column: str, value) -> None:
        self.checkLength(self.model.metadata.tables[table].c[column], value)

    def _model(self, row) -> ChangeModel:
        cid = row["changeid"]
        files = sorted(
            r["filename"] for r in self.t.select("change_files", lambda r: r["changeid"] == cid)
        )
        props = {
            r["property_name"]: decode_property(r["property_value"])
            for r in self.t.select("change_properties", lambda r: r["changeid"] == cid)
        }
        parent = row["parent_changeids"]
        return ChangeModel(
            changeid=cid,
            author=row["author"],
            committer=row["committer"],
            comments=row["comments"],
            branch=row["branch"],
            revision=row["revision"],
            revlink=row["revlink"],
            when_timestamp=epoch2datetime(row["when_timestamp"]),
            category=row["category"],
            sourcestampid=row["sourcestampid"],
            parent_changeids=[parent] if parent is not None else [],
            repository=row["repository"],
            codebase=row["codebase"],
            project=row["project"],
            files=files,
            properties=props,
        )

    def _get(self, changeid):
        row = self.t.select_one("changes", lambda r: r["changeid"] == changeid)
        return self._model(row) if row is not None else None

    def addChange(
        self,
        author=None,
        committer=None,
        files=None,
        comments=None,
        is_dir=None,
        revision=None,
        when_timestamp=None,
        branch=None,
        category=None,
        revlink="",
        properties=None,
        repository="",
        codebase="",
        project="",
        uid=None,
        _test_changeid=None,
    ):
        files = list(files or [])
        properties = dict(properties or {})
        repository, codebase, project = repository or "", codebase or "", project or ""
        when = datetime2epoch(when_timestamp) if when_timestamp is not None else self._now()
        try:
            for column, value in [
                ("author", author),
                ("committer", committer),
                ("branch", branch),
                ("revision", revision),
                ("revlink", revlink),
                ("category", category),
                ("repository", repository),
                ("codebase", codebase),
                ("project", project),
            ]:
                self._check_length("changes", column, value)
            for column, value in [("branch", branch), ("revision", revision)]:
                self._check_length("sourcestamps", column, value)
            for filename in files:
                self._check_length("change_files", "filename", filename)
            for name in properties:
                self._check_length("change_properties", "property_name", name)
            encoded = {
                name: json.dumps([value, source]) for name, (value, source) in properties.items()
            }
        except Exception:
            return defer.fail()
        # validate NOT NULL columns before writing anything, as the real
        # transaction would roll back
        if author is None or comments is None:
            column = "author" if author is None else "comments"
            return defer.fail(integrity_error(f"NOT NULL constraint failed: changes.{column}"))
        if _test_changeid is not None and self._get(_test_changeid) is not None:
            return defer.fail(integrity_error("UNIQUE constraint failed: changes.changeid"))
        ssid = find_sourcestamp_id(
            self.t,
            self._now(),
            branch=branch,
            revision=revision,
            repository=repository,
            project=project,
            codebase=codebase,
        )
        same_line = self.t.select(
            "changes",
            lambda r: (
                (r["branch"], r["repository"], r["project"], r["codebase"])
                == (branch, repository, project, codebase)
            ),
        )
        parent = max((r["changeid"] for r in same_line), default=None)
        values = {
            "author": author,
            "committer": committer,
            "comments": comments,
            "branch": branch,
            "revision": revision,
            "revlink": revlink,
            "when_timestamp": when,
            "category": category,
            "repository": repository,
            "codebase": codebase,
            "project": project,
            "sourcestampid": ssid,
            "parent_changeids": parent,
        }
        if _test_changeid is not None:
            values["changeid"] = _test_changeid
        changeid = self.t.insert("changes", values)
        for filename in files:
            self.t.insert("change_files", {"changeid": changeid, "filename": filename})
        for name, value in encoded.items():
            self.t.insert(
                "change_properties",
                {"changeid": changeid, "property_name": name, "property_value": value},
            )
        if uid is not None:
            self.t.insert("change_users", {"changeid": changeid, "uid": uid})
        return defer.succeed(changeid)

    def getChange(self, changeid):
        return defer.succeed(self._get(changeid))

    def getChangeFromSSid(self, sourcestampid):
        rows = self.t.select("changes", lambda r: r["sourcestampid"] == sourcestampid)
        if not rows:
            return defer.succeed(None)
        return defer.succeed(self._model(max(rows, key=lambda r: r["changeid"])))

    def getChangeUids(self, changeid):
        rows = self.t.select("change_users", lambda r: r["changeid"] == changeid)
        return defer.succeed(sorted(r["uid"] for r in rows))

    def getChanges(self, limit=None, offset=None):
        rows = sorted(self.t.select("changes"), key=lambda r: r["changeid"])
        rows = rows[offset or 0 :]
        if limit is not None:
            rows = rows[:limit]
        return defer.succeed([self._model(r) for r in rows])

    def getChangesCount(self):
        return defer.succeed(len(self.t.select("changes")))

    def getLatestChangeid(self):
        return defer.succeed(max((r["changeid"] for r in self.t.select("changes")), default=None))

    def _stamps_of_build(self, buildid):
        brids = {r["buildrequestid"] for r in self.t.select("builds", lambda r: r["id"] == buildid)}
        bsids = {
            r["buildsetid"] for r in self.t.select("buildrequests", lambda r: r["id"] in brids)
        }
        ssids = {
            r["sourcestampid"]
            for r in self.t.select("buildset_sourcestamps", lambda r: r["buildsetid"] in bsids)
        }
        return sorted(
            self.t.select("sourcestamps", lambda r: r["id"] in ssids), key=lambda r: r["id"]
        )

    def _latest_change_id(self, ssid):
        ids = [
            r["changeid"] for r in self.t.select("changes", lambda r: r["sourcestampid"] == ssid)
        ]
        return max(ids, default=None)

    def getChangesForBuild(self, buildid):
        build = self.t.select_one("builds", lambda r: r["id"] == buildid)
        if build is None:
            return defer.succeed([])
        previous = [
            r
            for r in self.t.select("builds")
            if r["builderid"] == build["builderid"]
            and r["number"] < build["number"]
            and r["results"] == SUCCESS
        ]
        prev = max(previous, key=lambda r: r["number"]) if previous else None
        prev_stamps = self._stamps_of_build(prev["id"]) if prev else []

        def key(s):
            return (s["codebase"], s["branch"], s["repository"])

        result = []
        for stamp in self._stamps_of_build(buildid):
            changeid = self._latest_change_id(stamp["id"])
            if changeid is None:
                continue
            from_changeid = None
            for p in prev_stamps:
                if key(p) == key(stamp):
                    from_changeid = self._latest_change_id(p["id"])
                    break
            result.extend(walk_changes_between(self._get(changeid), from_changeid, self._get))
        return defer.succeed(result)

    def pruneChanges(self, changeHorizon):
        if not changeHorizon:
            return defer.succeed(None)
        ids = sorted((r["changeid"] for r in self.t.select("changes")), reverse=True)
        old = set(ids[changeHorizon:])
        self.t.update("changes", lambda r: r["parent_changeids"] in old, {"parent_changeids": None})
        for table in (
            "scheduler_changes",
            "change_files",
            "change_properties",
            "change_users",
            "changes",
        ):
            self.t.delete(table, lambda r: r["changeid"] in old)
        return defer.succeed(None)
