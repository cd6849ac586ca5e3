from __future__ import annotations

from typing import Any

from twisted.internet import defer

from buildbot.db import base
from buildbot.db.sourcestamps import (
    PatchModel,
    SourceStampModel,
    decode_patch_body,
    encode_patch_body,
)
from buildbot.test.fakedb.base import FakeDBComponent
from buildbot.util import epoch2datetime


def find_sourcestamp_id(
    t: Any,
    now: int,
    *,
    branch: str | None,
    revision: str | None,
    repository: str,
    project: str,
    codebase: str,
    patch: dict[str, Any] | None = None,
) -> int:
    """The fake twin of `thd_find_sourcestamp_id` (shared with the fake changes)."""
    patchid = t.insert("patches", patch) if patch is not None else None
    ss_hash = base.hash_columns(branch, revision, repository, project, codebase, patchid)
    row = t.select_one("sourcestamps", lambda r: r["ss_hash"] == ss_hash)
    if row is not None:
        return row["id"]
    return t.insert(
        "sourcestamps",
        {
            "ss_hash": ss_hash,
            "branch": branch,
            "revision": revision,
            "patchid": patchid,
            "repository": repository,
            "codebase": codebase,
            "project": project,
            "created_at": now,
        },
    )


def sourcestamp_model(t: Any, row: dict[str, Any]) -> SourceStampModel:
    patch = None
    if row["patchid"] is not None:
        p = t.select_one("patches", lambda r: r["id"] == row["patchid"])
        if p is not None:
            patch = PatchModel(
                patchid=p["id"],
                body=decode_patch_body(p["patch_base64"]),
                level=p["patchlevel"],
                author=p["patch_author"],
                comment=p["patch_comment"],
                subdir=p["subdir"],
            )
    return SourceStampModel(
        ssid=row["id"],
        branch=row["branch"],
        revision=row["revision"],
        repository=row["repository"],
        created_at=epoch2datetime(row["created_at"]),
        codebase=row["codebase"],
        project=row["project"],
        patch=patch,
    )


class FakeSourceStampsComponent(FakeDBComponent):
    def _check_length(self, column: str, value):
        self.checkLength(self.model.sourcestamps.c[column], value)

    def findSourceStampId(
        self,
        branch=None,
        revision=None,
        repository=None,
        project=None,
        codebase=None,
        patch_body=None,
        patch_level=None,
        patch_author=None,
        patch_comment=None,
        patch_subdir=None,
    ):
        values = {
            "branch": branch,
            "revision": revision,
            "repository": repository or "",
            "project": project or "",
            "codebase": codebase or "",
        }
        try:
            for name, value in values.items():
                self._check_length(name, value)
        except Exception:
            return defer.fail()
        patch = None
        if patch_body is not None:
            patch = {
                "patchlevel": patch_level or 0,
                "patch_base64": encode_patch_body(patch_body),
                "patch_author": patch_author or "",
                "patch_comment": patch_comment or "",
                "subdir": patch_subdir,
            }
        return defer.succeed(find_sourcestamp_id(self.t, self._now(), patch=patch, **values))

    def getSourceStamp(self, ssid):
        row = self.t.select_one("sourcestamps", lambda r: r["id"] == ssid)
        return defer.succeed(sourcestamp_model(self.t, row) if row is not None else None)

    def _models(self, ssids=None):
        rows = self.t.select("sourcestamps", lambda r: ssids is None or r["id"] in ssids)
        rows.sort(key=lambda r: r["id"])
        return [sourcestamp_model(self.t, r) for r in rows]

    def getSourceStamps(self):
        return defer.succeed(self._models())

    def _ssids_of_buildsets(self, buildsetids):
        return {
            r["sourcestampid"]
            for r in self.t.select(
                "buildset_sourcestamps", lambda r: r["buildsetid"] in buildsetids
            )
        }

    def get_sourcestamps_for_buildset(self, buildsetid):
        return defer.succeed(self._models(self._ssids_of_buildsets({buildsetid})))

    def getSourceStampsForBuild(self, buildid):
        brids = {r["buildrequestid"] for r in self.t.select("builds", lambda r: r["id"] == buildid)}
        bsids = {
            r["buildsetid"] for r in self.t.select("buildrequests", lambda r: r["id"] in brids)
        }
        return defer.succeed(self._models(self._ssids_of_buildsets(bsids)))
