"""Changes: commits reported by change sources, hooks and `sendchange`."""

from __future__ import annotations

import datetime
from typing import Any

from twisted.python import log

from buildbot.data import base
from buildbot.data.sourcestamps import sourcestamp_dict
from buildbot.util import datetime2epoch, epoch2datetime


async def change_dict(master: Any, ch: Any) -> dict[str, Any]:
    ss = await master.db.sourcestamps.getSourceStamp(ch.sourcestampid)
    return {
        "changeid": ch.changeid,
        "author": ch.author,
        "committer": ch.committer,
        "files": list(ch.files),
        "comments": ch.comments,
        "revision": ch.revision,
        "when_timestamp": datetime2epoch(ch.when_timestamp),
        "branch": ch.branch,
        "category": ch.category,
        "revlink": ch.revlink,
        "properties": {k: tuple(v) for k, v in ch.properties.items()},
        "repository": ch.repository,
        "project": ch.project,
        "codebase": ch.codebase,
        "parent_changeids": list(ch.parent_changeids),
        "sourcestamp": sourcestamp_dict(ss) if ss is not None else None,
    }


class ChangeEndpoint(base.Endpoint):
    pathPatterns = "/changes/n:changeid"

    async def get(self, resultSpec, kwargs):
        ch = await self.master.db.changes.getChange(kwargs["changeid"])
        return await change_dict(self.master, ch) if ch is not None else None


class ChangesEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "changes"
    pathPatterns = """
        /changes
        /builds/n:buildid/changes
        /builders/n:builderid/builds/n:build_number/changes
        /sourcestamps/n:ssid/changes
    """

    async def get(self, resultSpec, kwargs):
        db = self.master.db
        if "ssid" in kwargs:
            ch = await db.changes.getChangeFromSSid(kwargs["ssid"])
            changes = [ch] if ch is not None else []
        elif "buildid" in kwargs or "build_number" in kwargs:
            build = await self.getBuild(kwargs)
            changes = await db.changes.getChangesForBuild(build.id) if build else []
        else:
            changes = await self._all(resultSpec)
        return [await change_dict(self.master, ch) for ch in changes]

    async def _all(self, resultSpec):
        # paging goes to SQL when nothing else has to be applied first
        db = self.master.db
        spec = resultSpec
        if spec is not None and not spec.filters and spec.order in (None, ["changeid"]):
            limit, offset = spec.limit, spec.offset
            if limit is not None or offset:
                spec.removePagination()
                spec.removeOrder()
                return await db.changes.getChanges(limit=limit, offset=offset)
        return await db.changes.getChanges()


class Change(base.ResourceType):
    name = "change"
    plural = "changes"
    endpoints = [ChangeEndpoint, ChangesEndpoint]
    keyField = "changeid"
    fields = {
        "changeid": "int",
        "parent_changeids": "[int]",
        "author": "str",
        "committer": "str",
        "files": "[str]",
        "comments": "str",
        "revision": "str?",
        "when_timestamp": "int",
        "branch": "str?",
        "category": "str?",
        "revlink": "str?",
        "properties": "props",
        "repository": "str",
        "project": "str",
        "codebase": "str",
        "sourcestamp": "entity(sourcestamp)",
    }
    eventPathPatterns = "/changes/:changeid"

    @base.updateMethod
    async def addChange(
        self,
        files: list[str] | None = None,
        comments: str | None = None,
        author: str | None = None,
        committer: str | None = None,
        revision: str | None = None,
        when_timestamp: int | None = None,
        branch: str | None = None,
        category: Any = None,
        revlink: str | None = "",
        properties: dict[str, Any] | None = None,
        repository: str = "",
        codebase: str | None = None,
        project: str = "",
        src: str | None = None,
    ) -> int:
        """Record a change; its `properties` ({name: value}) get the source 'Change'.

        Without a `codebase`, the config's codebaseGenerator (if any) names it.
        """
        props = {name: (value, "Change") for name, value in (properties or {}).items()}
        if codebase is None:
            codebase = ""
            generator = getattr(getattr(self.master, "config", None), "codebaseGenerator", None)
            if generator is not None:
                chdict = {
                    "changeid": None,
                    "author": author,
                    "committer": committer,
                    "files": files,
                    "comments": comments,
                    "revision": revision,
                    "when_timestamp": when_timestamp,
                    "branch": branch,
                    "category": category,
                    "revlink": revlink,
                    "properties": props,
                    "repository": repository,
                    "project": project,
                }
                codebase = generator(chdict) or ""
        config = getattr(self.master, "config", None)
        make_revlink = getattr(config, "revlink", None)
        if not revlink and revision and repository and callable(make_revlink):
            revlink = make_revlink(revision, repository) or ""
        when = epoch2datetime(when_timestamp) if when_timestamp is not None else None
        if isinstance(when_timestamp, datetime.datetime):
            when = when_timestamp
        changeid = await self.master.db.changes.addChange(
            author=author,
            committer=committer,
            files=files,
            # the column is NOT NULL: a change without a message still gets stored
            comments=comments if comments is not None else "",
            revision=revision,
            when_timestamp=when,
            branch=branch,
            category=category,
            revlink=revlink,
            properties=props,
            repository=repository,
            codebase=codebase,
            project=project,
        )
        self.produceEvent(await self.master.data.get(("changes", changeid)), "new")
        horizon = getattr(config, "changeHorizon", None)
        if horizon:
            try:
                await self.master.db.changes.pruneChanges(horizon)
            except Exception:
                # the change is stored and announced; expiry can wait for the next one
                log.err(None, "pruning changes beyond changeHorizon")
        return changeid
