"""A build request as the build engine sees it, and the default collapse rule.

`BuildRequest.fromBrdict(master, brdict)` gathers what a build needs of a request:
its buildset's sourcestamps (with their changes) and properties.
"""

from __future__ import annotations

from typing import Any

from buildbot.process.properties import Properties

# buildset properties that differ between otherwise identical requests
_COLLAPSE_IGNORED_PROPERTIES = frozenset({"scheduler", "reason", "owner", "owners"})


class TempSourceStamp:
    """A sourcestamp of a request: `branch`, `revision`, `repository`, `project`,
    `codebase`, `changes`, `patch` ((level, body, subdir) or None), `patch_info`."""

    def __init__(self, ssdict: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        self.ssid = ssdict.get("ssid")
        self.branch = ssdict.get("branch")
        self.revision = ssdict.get("revision")
        self.repository = ssdict.get("repository") or ""
        self.project = ssdict.get("project") or ""
        self.codebase = ssdict.get("codebase") or ""
        self.changes = changes
        patch = ssdict.get("patch")
        self.patch: tuple[int, Any, str | None] | None = None
        self.patch_info: tuple[str | None, str | None] | None = None
        if patch:
            self.patch = (patch.get("level", 1), patch.get("body"), patch.get("subdir"))
            self.patch_info = (patch.get("author"), patch.get("comment"))

    def asDict(self) -> dict[str, Any]:
        return {
            "ssid": self.ssid,
            "branch": self.branch,
            "revision": self.revision,
            "repository": self.repository,
            "project": self.project,
            "codebase": self.codebase,
        }

    def __repr__(self) -> str:
        return f"<SourceStamp {self.codebase!r} {self.branch!r}@{self.revision!r}>"


class BuildRequest:
    """One pending request: `id`, `bsid`, `builderid`, `buildername`, `priority`,
    `submittedAt`, `reason`, `waitedFor`, `properties`, `sources` (codebase → stamp)."""

    def __init__(self) -> None:
        self.id: int = 0
        self.bsid: int = 0
        self.builderid: int = 0
        self.buildername: str | None = None
        self.priority = 0
        self.submittedAt: Any = None
        self.reason = ""
        self.waitedFor = False
        self.properties = Properties()
        self.sources: dict[str, TempSourceStamp] = {}
        self.brdict: dict[str, Any] = {}
        self.master: Any = None

    def __repr__(self) -> str:
        return f"<BuildRequest {self.id} on {self.buildername!r}>"

    @classmethod
    async def fromBrdict(cls, master: Any, brdict: dict[str, Any]) -> BuildRequest:
        req = cls()
        req.master = master
        req.brdict = brdict
        req.id = brdict["buildrequestid"]
        req.bsid = brdict["buildsetid"]
        req.builderid = brdict["builderid"]
        req.buildername = brdict.get("buildername")
        req.priority = brdict.get("priority") or 0
        req.submittedAt = brdict.get("submitted_at")
        req.waitedFor = bool(brdict.get("waited_for"))
        buildset = await master.data.get(("buildsets", req.bsid))
        req.reason = (buildset or {}).get("reason") or ""
        props = await master.data.get(("buildsets", req.bsid, "properties")) or {}
        for name, (value, source) in props.items():
            req.properties.setProperty(name, value, source)
        for ssdict in (buildset or {}).get("sourcestamps", []):
            changes = list(await master.data.get(("sourcestamps", ssdict["ssid"], "changes")))
            ss = TempSourceStamp(ssdict, changes)
            req.sources[ss.codebase] = ss
        return req

    def mergeSourceStampsWith(self, others: list[BuildRequest]) -> list[TempSourceStamp]:
        return list(self.sources.values())


async def _cached(cache: dict[Any, Any] | None, key: Any, fetch: Any) -> Any:
    if cache is None:
        return await fetch()
    if key not in cache:
        cache[key] = await fetch()
    return cache[key]


async def _stamps(
    master: Any, bsid: int, cache: dict[Any, Any] | None = None
) -> dict[str, dict[str, Any]] | None:
    buildset = await _cached(
        cache, ("buildset", bsid), lambda: master.data.get(("buildsets", bsid))
    )
    if buildset is None:
        return None
    return {ss.get("codebase") or "": ss for ss in buildset["sourcestamps"]}


async def _has_changes(master: Any, ss: dict[str, Any], cache: dict[Any, Any] | None) -> bool:
    ssid = ss["ssid"]
    changes = await _cached(
        cache, ("changes", ssid), lambda: master.data.get(("sourcestamps", ssid, "changes"))
    )
    return bool(list(changes))


async def canBeCollapsed(
    master: Any,
    new_br: dict[str, Any],
    old_br: dict[str, Any],
    cache: dict[Any, Any] | None = None,
) -> bool:
    """The default rule: may the older request `old_br` be replaced by `new_br`?

    Same codebases, repositories, branches and projects, no patch, equal revisions
    unless both carry changes, and equal buildset properties (but for the few that
    name who or what asked).  `cache` (a dict kept for one pass over a queue) spares
    reading a buildset again for each pair it is in."""
    if new_br["buildsetid"] == old_br["buildsetid"]:
        return True
    if new_br["buildrequestid"] < old_br["buildrequestid"]:
        return False
    new_ss = await _stamps(master, new_br["buildsetid"], cache)
    old_ss = await _stamps(master, old_br["buildsetid"], cache)
    if new_ss is None or old_ss is None or set(new_ss) != set(old_ss):
        return False
    for codebase, a in new_ss.items():
        b = old_ss[codebase]
        if any(a.get(k) != b.get(k) for k in ("repository", "branch", "project")):
            return False
        if a.get("patch") or b.get("patch"):
            return False
        if a.get("revision") != b.get("revision"):
            if not (await _has_changes(master, a, cache) and await _has_changes(master, b, cache)):
                return False

    async def props(bsid: int) -> dict[str, Any]:
        got = await _cached(
            cache, ("props", bsid), lambda: master.data.get(("buildsets", bsid, "properties"))
        )
        return got or {}

    new_props = await props(new_br["buildsetid"])
    old_props = await props(old_br["buildsetid"])

    def values(props: dict[str, Any]) -> dict[str, Any]:
        return {k: v[0] for k, v in props.items() if k not in _COLLAPSE_IGNORED_PROPERTIES}

    return values(new_props) == values(old_props)
