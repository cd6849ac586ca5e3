"""Trigger: a step that fires Triggerable schedulers and may wait for their builds."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python import failure
from twisted.python import log as twlog

from buildbot import config, interfaces
from buildbot.process import buildstep
from buildbot.process.properties import Properties
from buildbot.process.renderables import Property
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    SUCCESS,
    statusToString,
    worst_status,
)

#: source of the properties the step gives the triggered buildsets
PROPERTY_SOURCE = "Trigger"

_DEFAULT_URL = "http://localhost:8080/"


def _renderable(value: Any) -> bool:
    return interfaces.IRenderable.providedBy(value)


def _stamp_dict(ss: Any) -> dict[str, Any]:
    """A build's sourcestamp as `findSourceStampId` arguments."""
    out = {
        "codebase": getattr(ss, "codebase", "") or "",
        "repository": getattr(ss, "repository", "") or "",
        "branch": getattr(ss, "branch", None),
        "revision": getattr(ss, "revision", None),
        "project": getattr(ss, "project", "") or "",
    }
    patch = getattr(ss, "patch", None)
    if patch:
        level, body, subdir = patch
        author, comment = getattr(ss, "patch_info", None) or (None, None)
        out.update(
            patch_level=level,
            patch_body=body,
            patch_subdir=subdir,
            patch_author=author,
            patch_comment=comment,
        )
    return out


class Trigger(buildstep.BuildStep):
    name = "trigger"
    renderables = [
        "alwaysUseLatest",
        "parent_relationship",
        "schedulerNames",
        "set_properties",
        "sourceStamps",
        "unimportantSchedulerNames",
        "updateSourceStamp",
        "waitForFinish",
    ]
    flunkOnFailure = True

    def __init__(
        self,
        schedulerNames: Any = None,
        sourceStamp: dict[str, Any] | None = None,
        sourceStamps: Any = None,
        updateSourceStamp: Any = None,
        alwaysUseLatest: Any = False,
        waitForFinish: Any = False,
        set_properties: Any = None,
        copy_properties: list[str] | None = None,
        parent_relationship: Any = "Triggered from",
        unimportantSchedulerNames: Any = None,
        **kwargs: Any,
    ) -> None:
        if not schedulerNames:
            config.error("You must specify a scheduler to trigger")
        if (sourceStamp or sourceStamps) and updateSourceStamp is not None:
            config.error("You can't specify both sourceStamps and updateSourceStamp")
        if (sourceStamp or sourceStamps) and alwaysUseLatest:
            config.error("You can't specify both sourceStamps and alwaysUseLatest")
        if alwaysUseLatest and updateSourceStamp is not None:
            config.error("You can't specify both alwaysUseLatest and updateSourceStamp")
        unimportant = unimportantSchedulerNames or []
        if not (_renderable(schedulerNames) or _renderable(unimportant)):
            if not set(unimportant) <= set(schedulerNames or []):
                config.error("unimportantSchedulerNames must be a subset of schedulerNames")
        stamps: Any = sourceStamps
        if sourceStamp:
            stamps = [sourceStamp, *(sourceStamps or [])]
        if set_properties is None:
            set_properties = {}
        if copy_properties:
            if _renderable(set_properties):
                config.error("copy_properties cannot be used with renderable set_properties")
            else:
                set_properties = dict(set_properties)
                for name in copy_properties:
                    set_properties[name] = Property(name)
        if updateSourceStamp is None:
            updateSourceStamp = not (alwaysUseLatest or stamps)
        self.schedulerNames = schedulerNames
        self.unimportantSchedulerNames = unimportant
        self.sourceStamps = stamps or []
        self.updateSourceStamp = updateSourceStamp
        self.alwaysUseLatest = alwaysUseLatest
        self.waitForFinish = waitForFinish
        self.set_properties = set_properties
        self.parent_relationship = parent_relationship
        super().__init__(**kwargs)
        self.brids: list[int] = []
        self.triggeredNames: list[str] = []
        self._invalid: list[str] = []
        self._waiting: defer.Deferred[Any] | None = None

    # --- hooks a subclass may override ----------------------------------------------------

    def getSchedulersAndProperties(self) -> Any:
        """[{'sched_name', 'props_to_set', 'unimportant'}] (or old-style
        [(sched_name, props_to_set)]); may return a Deferred."""
        return [
            {
                "sched_name": name,
                "props_to_set": self.set_properties,
                "unimportant": name in self.unimportantSchedulerNames,
            }
            for name in self.schedulerNames
        ]

    def getAllGotRevisions(self) -> dict[str, Any]:
        got = self.getProperty("got_revision", {})
        if not isinstance(got, dict):
            got = {"": got}
        return got

    def prepareSourcestampListForTrigger(self) -> list[dict[str, Any]]:
        if self.sourceStamps:
            by_codebase: dict[str, dict[str, Any]] = {}
            for ss in self.sourceStamps:
                codebase = ss.get("codebase", "")
                if codebase in by_codebase:
                    raise ValueError(f"codebase {codebase!r} specified multiple times")
                by_codebase[codebase] = dict(ss)
            return [by_codebase[k] for k in sorted(by_codebase)]
        if self.alwaysUseLatest:
            return []
        by_codebase = {}
        for ss in self.build.getAllSourceStamps():
            by_codebase[ss.codebase] = _stamp_dict(ss)
        if self.updateSourceStamp:
            got = self.getAllGotRevisions()
            for codebase, ss in by_codebase.items():
                if codebase in got:
                    ss["revision"] = got[codebase]
        return [by_codebase[k] for k in sorted(by_codebase)]

    # --- running ------------------------------------------------------------------------

    def _find_schedulers(self, wanted: list[dict[str, Any]]) -> list[tuple[Any, Any, bool]]:
        """(scheduler, props, unimportant) for each entry; unusable names go to
        `self._invalid`."""
        manager = getattr(self.master, "scheduler_manager", None)
        known = getattr(manager, "namedServices", {}) or {}
        found = []
        for entry in wanted:
            name = entry["sched_name"]
            sch = known.get(name) if isinstance(name, str) else None
            if sch is None or not interfaces.ITriggerableScheduler.providedBy(sch):
                self._invalid.append(str(name))
                continue
            found.append((sch, entry.get("props_to_set"), bool(entry.get("unimportant"))))
        return found

    def _base_url(self) -> str:
        url = getattr(getattr(self.master, "config", None), "buildbotURL", None) or _DEFAULT_URL
        return url if url.endswith("/") else url + "/"

    async def run(self) -> int:
        wanted = []
        for entry in await defer.maybeDeferred(self.getSchedulersAndProperties):
            if not isinstance(entry, dict):
                name, props = entry
                entry = {"sched_name": name, "props_to_set": props, "unimportant": False}
            wanted.append(entry)
        schedulers = self._find_schedulers(wanted)
        if self._invalid:
            return FAILURE
        stamps = self.prepareSourcestampListForTrigger()

        results = SUCCESS
        pending: list[defer.Deferred[Any]] = []
        unimportant_brids: set[int] = set()
        for sch, props_to_set, unimportant in schedulers:
            props = Properties()
            props.update(dict(props_to_set or {}), PROPERTY_SOURCE)
            ids_d, results_d = sch.trigger(
                waited_for=bool(self.waitForFinish),
                sourcestamps=stamps,
                set_props=props,
                parent_buildid=self.build.buildid,
                parent_relationship=self.parent_relationship,
            )
            pending.append(results_d)
            self.triggeredNames.append(sch.name)
            brids: dict[int, int] = {}
            try:
                _, brids = await ids_d
            except Exception:
                await self.addLogWithFailure(failure.Failure())
                results = EXCEPTION
            if unimportant:
                unimportant_brids.update(brids.values())
            self.brids.extend(brids.values())
            for brid in brids.values():
                await self.addURL(
                    f"{sch.name} #{brid}", f"{self._base_url()}#/buildrequests/{brid}"
                )
            if self.stopped:
                self._drop(pending)
                return CANCELLED
        self.updateSummary()

        if not self.waitForFinish:
            self._drop(pending)
            return results
        self._waiting = defer.DeferredList(pending, consumeErrors=True)
        try:
            outcomes = await self._waiting
        except defer.CancelledError:
            return CANCELLED
        finally:
            self._waiting = None
        if self.stopped:
            return CANCELLED
        return await self._merge(results, outcomes, unimportant_brids)

    def _drop(self, pending: list[defer.Deferred[Any]]) -> None:
        """Stop waiting for these buildsets: the schedulers forget them. A failure to
        add one was already logged in the step."""
        for d in pending:
            d.addErrback(lambda _: None)
            d.cancel()

    async def _merge(
        self, results: int, outcomes: list[tuple[bool, Any]], unimportant_brids: set[int]
    ) -> int:
        """The worst of `results` and the triggered buildsets' results (unimportant
        ones aside); adds a URL for each triggered build."""
        for ok, outcome in outcomes:
            if not ok:
                await self.addLogWithFailure(outcome)
                results = worst_status(results, EXCEPTION)
                continue
            bs_results, brids = outcome
            await self._add_build_urls(bs_results, brids)
            if brids and set(brids.values()) <= unimportant_brids:
                continue
            results = worst_status(results, bs_results)
        return results if results is not None else SUCCESS

    async def _add_build_urls(self, bs_results: int | None, brids: dict[int, int]) -> None:
        names: dict[int, str] = {}
        for brid in brids.values():
            builds = await self.master.data.get(("buildrequests", brid, "builds")) or []
            for build in builds:
                builderid = build["builderid"]
                if builderid not in names:
                    builder = await self.master.data.get(("builders", builderid))
                    names[builderid] = builder["name"] if builder else str(builderid)
                number = build["number"]
                await self.addURL(
                    f"{statusToString(bs_results)}: {names[builderid]} #{number}",
                    f"{self._base_url()}#/builders/{builderid}/builds/{number}",
                )

    # --- interrupting ---------------------------------------------------------------------

    async def _interrupt(self, reason: Any) -> None:
        if self.stopped:
            return
        await super()._interrupt(reason)
        # a started build is stopped, a waiting request is cancelled
        for brid in list(self.brids):
            try:
                await self.master.data.control(
                    "cancel", {"reason": "parent build was interrupted"}, ("buildrequests", brid)
                )
            except Exception:
                twlog.err(None, f"while cancelling build request {brid}")
        if self._waiting is not None:
            self._waiting.cancel()

    # --- summaries ------------------------------------------------------------------------

    def getCurrentSummary(self) -> Any:
        if self.description is not None:
            return super().getCurrentSummary()
        if not self.triggeredNames:
            return {"step": "running"}
        return {"step": "triggered " + ", ".join(self.triggeredNames)}

    def getResultSummary(self) -> Any:
        if self._invalid:
            text = "not valid scheduler: " + " ".join(self._invalid)
            return {"step": text + self._result_note()}
        if self.descriptionDone is not None or not self.triggeredNames:
            return super().getResultSummary()
        text = "triggered " + ", ".join(self.triggeredNames)
        return {"step": text + self._result_note()}
