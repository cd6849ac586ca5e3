"""What reporters know about builds and buildsets, gathered through the data API.

The build dicts given to generators and formatters are data-API build entities with
extras added in place: `builder`, `buildset`, `url`, `parentbuild`, `parentbuilder`,
and, when asked for, `properties` (name -> (value, source)), `steps` (each with its
`logs`, each log with `url`/`url_raw`/`url_raw_inline` and, when asked for, its
`content`) and `prev_build` (the previous finished build of the builder, or None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from buildbot.data import resultspec
from buildbot.process.results import RETRY
from buildbot.util.service import _returns_deferred as _deferred

DEFAULT_BUILDBOT_URL = "http://localhost:8080/"


def _buildbot_url(master: Any) -> str:
    url = getattr(getattr(master, "config", None), "buildbotURL", None) or DEFAULT_BUILDBOT_URL
    return url if url.endswith("/") else url + "/"


def getURLForBuild(master: Any, builderid: int, build_number: int) -> str:
    return f"{_buildbot_url(master)}#/builders/{builderid}/builds/{build_number}"


def getURLForBuildrequest(master: Any, buildrequestid: int) -> str:
    return f"{_buildbot_url(master)}#/buildrequests/{buildrequestid}"


def getURLForLog(
    master: Any, builderid: int, build_number: int, step_number: int, slug: str
) -> str:
    return (
        f"{_buildbot_url(master)}#/builders/{builderid}/builds/{build_number}"
        f"/steps/{step_number}/logs/{slug}"
    )


def _log_selected(selection: bool | Sequence[str] | None, step_name: str, log: dict) -> bool:
    """`selection` is True (every log), falsy (none) or names: "logname" or
    "stepname.logname"."""
    if not selection:
        return False
    if selection is True:
        return True
    names = {
        log["name"],
        f"{step_name}.{log['name']}",
        log.get("slug"),
        f"{step_name}.{log.get('slug')}",
    }
    return any(n in names for n in selection)


@_deferred
async def getPreviousBuild(master: Any, build: dict[str, Any]) -> dict[str, Any] | None:
    """The last finished build of the same builder numbered before `build`, retries
    skipped."""
    # one build at a time, newest first: the builder's whole history is not read
    for number in range(build["number"] - 1, -1, -1):
        prev = await master.data.get(("builders", build["builderid"], "builds", number))
        if prev is not None and prev["complete"] and prev["results"] != RETRY:
            return prev
    return None


async def _steps_for(
    master: Any,
    build: dict[str, Any],
    want_logs: bool,
    add_logs: bool | Sequence[str] | None,
    want_logs_content: bool | Sequence[str] | None,
) -> list[dict[str, Any]]:
    steps = list(await master.data.get(("builds", build["buildid"], "steps")) or [])
    url = _buildbot_url(master)
    for step in steps:
        if not (want_logs or add_logs or want_logs_content):
            continue
        logs = list(await master.data.get(("steps", step["stepid"], "logs")) or [])
        for lg in logs:
            lg["stepname"] = step["name"]
            lg["url"] = getURLForLog(
                master, build["builderid"], build["number"], step["number"], lg["slug"]
            )
            lg["url_raw"] = f"{url}api/v2/logs/{lg['logid']}/raw"
            lg["url_raw_inline"] = f"{url}api/v2/logs/{lg['logid']}/raw_inline"
            if _log_selected(want_logs_content, step["name"], lg) or _log_selected(
                add_logs, step["name"], lg
            ):
                lg["content"] = await master.data.get(("logs", lg["logid"], "contents"))
        step["logs"] = logs
    return steps


@_deferred
async def getDetailsForBuild(
    master: Any,
    build: dict[str, Any],
    want_properties: bool = False,
    want_steps: bool = False,
    want_previous_build: bool = False,
    want_logs: bool = False,
    add_logs: bool | Sequence[str] | None = None,
    want_logs_content: bool | Sequence[str] | None = False,
) -> dict[str, Any]:
    """Add the extras (see the module docstring) to `build`, in place; returns it."""
    br = await master.data.get(("buildrequests", build["buildrequestid"]))
    buildset = await master.data.get(("buildsets", br["buildsetid"])) if br else None
    await _add_details(
        master,
        build,
        buildset,
        want_properties=want_properties,
        want_steps=want_steps,
        want_previous_build=want_previous_build,
        want_logs=want_logs,
        add_logs=add_logs,
        want_logs_content=want_logs_content,
    )
    return build


async def _add_details(
    master: Any,
    build: dict[str, Any],
    buildset: dict[str, Any] | None,
    want_properties: bool,
    want_steps: bool,
    want_previous_build: bool,
    want_logs: bool,
    add_logs: bool | Sequence[str] | None,
    want_logs_content: bool | Sequence[str] | None,
) -> None:
    build["buildset"] = buildset
    build["builder"] = await master.data.get(("builders", build["builderid"]))
    build["url"] = getURLForBuild(master, build["builderid"], build["number"])
    build["parentbuild"] = None
    build["parentbuilder"] = None
    if buildset and buildset.get("parent_buildid"):
        parent = await master.data.get(("builds", buildset["parent_buildid"]))
        build["parentbuild"] = parent
        if parent is not None:
            build["parentbuilder"] = await master.data.get(("builders", parent["builderid"]))
    if want_properties:
        build["properties"] = await master.data.get(("builds", build["buildid"], "properties"))
    if want_steps or want_logs or add_logs or want_logs_content:
        build["steps"] = await _steps_for(master, build, want_logs, add_logs, want_logs_content)
    if want_previous_build:
        build["prev_build"] = await getPreviousBuild(master, build)


@_deferred
async def getDetailsForBuilds(
    master: Any, buildset: dict[str, Any] | None, builds: list[dict[str, Any]], **wants: Any
) -> None:
    for build in builds:
        await _add_details(
            master,
            build,
            buildset,
            want_properties=wants.get("want_properties", False),
            want_steps=wants.get("want_steps", False),
            want_previous_build=wants.get("want_previous_build", False),
            want_logs=wants.get("want_logs", False),
            add_logs=wants.get("add_logs"),
            want_logs_content=wants.get("want_logs_content", False),
        )


@_deferred
async def getDetailsForBuildset(
    master: Any,
    bsid: int,
    want_properties: bool = False,
    want_steps: bool = False,
    want_previous_build: bool = False,
    want_logs: bool = False,
    add_logs: bool | Sequence[str] | None = None,
    want_logs_content: bool | Sequence[str] | None = False,
) -> dict[str, Any]:
    """{'buildset': the buildset, 'builds': its builds with their extras}."""
    buildset = await master.data.get(("buildsets", bsid))
    brs = await master.data.get(
        ("buildrequests",), filters=[resultspec.Filter("buildsetid", "eq", [bsid])]
    )
    builds: list[dict[str, Any]] = []
    for br in brs or []:
        builds.extend(
            await master.data.get(
                ("builds",),
                filters=[resultspec.Filter("buildrequestid", "eq", [br["buildrequestid"]])],
            )
            or []
        )
    await getDetailsForBuilds(
        master,
        buildset,
        builds,
        want_properties=want_properties,
        want_steps=want_steps,
        want_previous_build=want_previous_build,
        want_logs=want_logs,
        add_logs=add_logs,
        want_logs_content=want_logs_content,
    )
    return {"buildset": buildset, "builds": builds}


@_deferred
async def get_details_for_buildrequest(
    master: Any, buildrequest: dict[str, Any], build: dict[str, Any]
) -> None:
    """Fill a stand-in `build` dict for a pending build request, in place."""
    buildset = await master.data.get(("buildsets", buildrequest["buildsetid"]))
    builder = await master.data.get(("builders", buildrequest["builderid"]))
    build["buildset"] = buildset
    build["builderid"] = buildrequest["builderid"]
    build["builder"] = builder
    build["url"] = getURLForBuildrequest(master, buildrequest["buildrequestid"])
    build["results"] = None
    build["complete"] = False


def _add_user(users: list[str], user: Any) -> None:
    if user and user not in users:
        users.append(user)


@_deferred
async def getResponsibleUsersForSourceStamp(master: Any, sourcestampid: int) -> list[str]:
    changes = await master.data.get(("sourcestamps", sourcestampid, "changes"))
    users: list[str] = []
    for change in changes or []:
        _add_user(users, change["author"])
    return users


@_deferred
async def getResponsibleUsersForBuild(master: Any, buildid: int) -> list[str]:
    """Authors of the build's changes, then its `owner`/`owners` properties."""
    users: list[str] = []
    for change in await master.data.get(("builds", buildid, "changes")) or []:
        _add_user(users, change["author"])
    props = await master.data.get(("builds", buildid, "properties")) or {}
    if "owner" in props:
        _add_user(users, props["owner"][0])
    for owner in (props.get("owners") or [None])[0] or []:
        _add_user(users, owner)
    return users
