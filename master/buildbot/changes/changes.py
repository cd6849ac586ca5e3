"""`Change`: one commit as schedulers, change filters and `fileIsImportant` see it.

Built from the DB (`Change.fromChdict`) when a scheduler consumes a
``('changes', id, 'new')`` event; user code reads its attributes (`who`,
`files`, `branch`, `properties`...), so the names are Buildbot's.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from twisted.internet import defer

from buildbot.process.properties import Properties
from buildbot.util import datetime2epoch

#: the source of change properties given by change sources
PROPERTY_SOURCE = "Change"


def _field(chdict: Any, name: str, default: Any = None) -> Any:
    """A field of a ChangeModel or of a change dict (DB or data API shape)."""
    if isinstance(chdict, dict):
        return chdict.get(name, default)
    return getattr(chdict, name, default)


class Change:
    """A change of the source tree: who made it, when, where, and which files."""

    number: int | None = None
    sourcestampid: int | None = None
    parent_changeids: list[int]

    def __init__(
        self,
        who: str | None,
        files: list[str] | None,
        comments: str | None,
        committer: str | None = None,
        isdir: int = 0,
        links: list[str] | None = None,
        revision: str | None = None,
        when: float | None = None,
        branch: str | None = None,
        category: str | None = None,
        revlink: str | None = "",
        properties: dict[str, Any] | None = None,
        repository: str = "",
        codebase: str = "",
        project: str = "",
    ) -> None:
        self.who = who
        self.committer = committer
        self.comments = comments
        self.isdir = isdir
        self.links = list(links or [])
        self.revision = revision
        self.when = when if when is not None else time.time()
        self.branch = branch
        self.category = category
        self.revlink = revlink or ""
        self.properties = Properties()
        self.properties.update(properties or {}, PROPERTY_SOURCE)
        self.repository = repository or ""
        self.codebase = codebase or ""
        self.project = project or ""
        self.files = sorted(files or [])
        self.parent_changeids = []

    @classmethod
    def fromChdict(cls, master: Any, chdict: Any) -> defer.Deferred[Change]:
        """A Change from a `ChangeModel` (`master.db.changes.getChange`) or from a
        change dict (``when_timestamp`` a datetime or epoch seconds)."""
        try:
            return defer.succeed(cls._from_chdict(chdict))
        except Exception:
            return defer.fail()

    @classmethod
    def _from_chdict(cls, chdict: Any) -> Change:
        when = _field(chdict, "when_timestamp")
        if isinstance(when, datetime.datetime):
            when = datetime2epoch(when)
        change = cls(
            who=_field(chdict, "author"),
            files=[],
            comments=_field(chdict, "comments"),
            committer=_field(chdict, "committer"),
            revision=_field(chdict, "revision"),
            when=when,
            branch=_field(chdict, "branch"),
            category=_field(chdict, "category"),
            revlink=_field(chdict, "revlink"),
            repository=_field(chdict, "repository", ""),
            codebase=_field(chdict, "codebase", ""),
            project=_field(chdict, "project", ""),
        )
        change.number = _field(chdict, "changeid")
        change.sourcestampid = _field(chdict, "sourcestampid")
        if change.sourcestampid is None:  # the data API nests the sourcestamp
            ss = _field(chdict, "sourcestamp") or {}
            change.sourcestampid = ss.get("ssid")
        change.parent_changeids = list(_field(chdict, "parent_changeids") or [])
        # stored order, not sorted: it is the order the change source gave
        change.files = list(_field(chdict, "files") or [])
        for name, (value, source) in (_field(chdict, "properties") or {}).items():
            change.properties.setProperty(name, value, source)
        return change

    # --- Buildbot's aliases ------------------------------------------------------

    @property
    def changeid(self) -> int | None:
        return self.number

    @property
    def author(self) -> str | None:
        return self.who

    # --- views ---------------------------------------------------------------------

    def asChDict(self) -> dict[str, Any]:
        """The change as a change dict (the DB's field names, epoch `when_timestamp`)."""
        return {
            "changeid": self.number,
            "parent_changeids": list(self.parent_changeids),
            "author": self.who,
            "committer": self.committer,
            "files": list(self.files),
            "comments": self.comments,
            "revision": self.revision,
            "when_timestamp": self.when,
            "branch": self.branch,
            "category": self.category,
            "revlink": self.revlink,
            "properties": self.properties.asDict(),
            "repository": self.repository,
            "codebase": self.codebase,
            "project": self.project,
            "sourcestampid": self.sourcestampid,
        }

    def asDict(self) -> dict[str, Any]:
        """The change as Buildbot's status views show it."""
        return {
            "number": self.number,
            "branch": self.branch,
            "category": self.category,
            "who": self.who,
            "committer": self.committer,
            "comments": self.comments,
            "revision": self.revision,
            "rev": self.revision,
            "when": self.when,
            "at": self.getTime(),
            "files": [{"name": f} for f in self.files],
            "revlink": self.revlink,
            "properties": self.properties.asList(),
            "repository": self.repository,
            "codebase": self.codebase,
            "project": self.project,
        }

    def getShortAuthor(self) -> str | None:
        return self.who

    def getTime(self) -> str:
        if not self.when:
            return "?"
        return time.strftime("%a %d %b %Y %H:%M:%S", time.localtime(self.when))

    def getTimes(self) -> tuple[float, None]:
        return (self.when, None)

    def getText(self) -> list[str]:
        return [self.who or ""]

    def getLogs(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return (
            f"Change(number={self.number!r}, who={self.who!r}, branch={self.branch!r}, "
            f"revision={self.revision!r}, codebase={self.codebase!r})"
        )

    def __str__(self) -> str:
        lines = [
            f"Change {self.number}",
            f"Author: {self.who}",
            f"Branch: {self.branch}",
            f"Revision: {self.revision}",
            f"Repository: {self.repository}",
            f"Project: {self.project}",
            f"Codebase: {self.codebase}",
            "",
            self.comments or "",
            "",
            *(f"  {f}" for f in self.files),
        ]
        return "\n".join(lines) + "\n"
