"""Reports on build requests: a build is pending (or its request was cancelled)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from buildbot.process.results import CANCELLED
from buildbot.reporters import utils
from buildbot.reporters.generators.build import _check_formatter
from buildbot.reporters.generators.utils import BuildStatusGeneratorMixin
from buildbot.reporters.message import MessageFormatterRenderable
from buildbot.util.service import _returns_deferred


class BuildRequestGenerator(BuildStatusGeneratorMixin):
    """A report for each new build request; the "build" it carries is a stand-in
    with the request's builder, buildset and properties and no number or result."""

    wanted_event_keys = [("buildrequests", None, "new"), ("buildrequests", None, "cancel")]

    def __init__(
        self,
        tags: list[str] | None = None,
        builders: list[str] | None = None,
        schedulers: list[str] | None = None,
        branches: list[str] | None = None,
        add_patch: bool = False,
        formatter: Any = None,
    ) -> None:
        super().__init__("all", tags, builders, schedulers, branches, None, False, add_patch)
        _check_formatter(type(self).__name__, "formatter", formatter)
        self.formatter = formatter or MessageFormatterRenderable("Build pending.")

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], msg: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        brid = int(key[1])
        # a 'new' event carries the request; a 'cancel' event carries nothing
        br = msg if msg else await master.data.get(("buildrequests", brid))
        if br is None:
            return None
        cancelled = key[-1] == "cancel"
        props = await master.data.get(("buildsets", br["buildsetid"], "properties")) or {}
        build: dict[str, Any] = {
            "buildid": None,
            "number": None,
            "buildrequestid": brid,
            "workerid": None,
            "masterid": None,
            "started_at": None,
            "complete_at": None,
            "state_string": "cancelled" if cancelled else "pending",
            "properties": dict(props),
            "buildrequest": br,
        }
        await utils.get_details_for_buildrequest(master, br, build)
        if cancelled:
            build["results"] = CANCELLED
            build["complete"] = True
        if not self.is_message_needed_by_props(build):
            return None
        msg_dict = await self.formatter.format_message_for_build(
            master, build, is_buildset=False, mode=self.mode, users=[]
        )
        return {
            "body": msg_dict["body"],
            "subject": msg_dict["subject"],
            "type": msg_dict["type"],
            "results": build["results"],
            "builds": [build],
            "buildset": build["buildset"],
            "users": [],
            "patches": self._patches_for(build["buildset"]),
            "logs": [],
            "extra_info": msg_dict.get("extra_info"),
            "worker": None,
        }
