"""Sourcestamps: what was built (repository, branch, revision, patch). No events."""

from __future__ import annotations

from typing import Any

from buildbot.data import base


def sourcestamp_dict(ss: Any) -> dict[str, Any]:
    patch = None
    if ss.patch is not None:
        p = ss.patch
        patch = {
            "patchid": p.patchid,
            "body": p.body,
            "level": p.level,
            "subdir": p.subdir,
            "author": p.author,
            "comment": p.comment,
        }
    return {
        "ssid": ss.ssid,
        "branch": ss.branch,
        "revision": ss.revision,
        "project": ss.project,
        "repository": ss.repository,
        "codebase": ss.codebase,
        "created_at": ss.created_at,
        "patch": patch,
    }


class SourceStampEndpoint(base.Endpoint):
    pathPatterns = "/sourcestamps/n:ssid"

    async def get(self, resultSpec, kwargs):
        ss = await self.master.db.sourcestamps.getSourceStamp(kwargs["ssid"])
        return sourcestamp_dict(ss) if ss is not None else None


class SourceStampsEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "sourcestamps"
    pathPatterns = """
        /sourcestamps
        /buildsets/:buildsetid/sourcestamps
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        if "buildsetid" in kwargs:
            try:
                bsid = int(kwargs["buildsetid"])
            except ValueError:
                return []
            stamps = await db.sourcestamps.get_sourcestamps_for_buildset(bsid)
        else:
            stamps = await db.sourcestamps.getSourceStamps()
        return [sourcestamp_dict(ss) for ss in stamps]


class SourceStamp(base.ResourceType):
    name = "sourcestamp"
    plural = "sourcestamps"
    endpoints = [SourceStampEndpoint, SourceStampsEndpoint]
    keyField = "ssid"
    fields = {
        "ssid": "int",
        "revision": "str?",
        "branch": "str?",
        "repository": "str",
        "project": "str",
        "codebase": "str",
        "patch": "entity(patch)?",
        "created_at": "ts",
    }
