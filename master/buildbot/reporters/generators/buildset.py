"""Reports on whole buildsets, sent when a buildset completes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from buildbot import config
from buildbot.reporters import utils
from buildbot.reporters.generators.build import _check_formatter
from buildbot.reporters.generators.utils import BuildStatusGeneratorMixin
from buildbot.reporters.message import MessageFormatter
from buildbot.util.service import _returns_deferred


async def _users_of(master: Any, reporter: Any, builds: list[dict[str, Any]]) -> list[str]:
    users: list[str] = []
    for build in builds:
        for user in await defer.maybeDeferred(
            reporter.getResponsibleUsersForBuild, master, build["buildid"]
        ):
            if user not in users:
                users.append(user)
    return users


class BuildSetStatusGenerator(BuildStatusGeneratorMixin):
    """One report per completed buildset, covering the builds that pass the filters
    and `mode`; nothing if none does."""

    wanted_event_keys = [("buildsets", None, "complete")]

    def __init__(
        self,
        mode: str | Sequence[str] = ("failing", "passing", "warnings"),
        tags: list[str] | None = None,
        builders: list[str] | None = None,
        schedulers: list[str] | None = None,
        branches: list[str] | None = None,
        subject: str | None = None,
        add_logs: bool | list[str] | None = None,
        add_patch: bool = False,
        message_formatter: Any = None,
    ) -> None:
        super().__init__(mode, tags, builders, schedulers, branches, subject, add_logs, add_patch)
        _check_formatter(type(self).__name__, "message_formatter", message_formatter)
        self.formatter = message_formatter if message_formatter is not None else MessageFormatter()

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], msg: dict[str, Any]
    ) -> dict[str, Any] | None:
        details = await utils.getDetailsForBuildset(
            master,
            msg["bsid"],
            **self._details_wants(self.formatter, self._wants_previous_build()),
        )
        buildset = details["buildset"]
        builds = [
            b
            for b in details["builds"]
            if self.is_message_needed_by_props(b) and self.is_message_needed_by_results(b)
        ]
        if not builds:
            return None
        users = await _users_of(master, reporter, builds)
        message = await self._format(master, builds, users)
        logs = [lg for b in builds for lg in self._logs_for(b)]
        return {
            "body": message["body"],
            "subject": message["subject"] or self.subject,
            "type": message["type"],
            "results": buildset["results"],
            "builds": builds,
            "buildset": buildset,
            "users": users,
            "patches": self._patches_for(buildset),
            "logs": logs,
            "extra_info": message.get("extra_info"),
            "worker": None,
        }

    async def _format(
        self, master: Any, builds: list[dict[str, Any]], users: list[str]
    ) -> dict[str, Any]:
        """One message per build (`is_buildset` set in the context), joined: text
        bodies are concatenated, other bodies listed; the first subject wins."""
        messages = [
            await self.formatter.format_message_for_build(
                master, b, is_buildset=True, users=users, mode=self.mode
            )
            for b in builds
        ]
        bodies = [m["body"] for m in messages]
        if all(isinstance(b, str) for b in bodies):
            body: Any = "".join(bodies)
        elif len(bodies) == 1:
            body = bodies[0]
        else:
            body = bodies
        extra_info = None
        for m in messages:
            for key, values in (m.get("extra_info") or {}).items():
                extra_info = extra_info or {}
                extra_info.setdefault(key, {}).update(values)
        subject = next((m["subject"] for m in messages if m["subject"]), None)
        return {
            "body": body,
            "subject": subject,
            "type": messages[0]["type"],
            "extra_info": extra_info,
        }


class BuildSetCombinedStatusGenerator:
    """One report per completed buildset with all its builds, formatted by
    `message_formatter.format_message_for_buildset`."""

    wanted_event_keys = [("buildsets", None, "complete")]

    def __init__(self, message_formatter: Any) -> None:
        if message_formatter is None or not hasattr(
            message_formatter, "format_message_for_buildset"
        ):
            config.error(
                "BuildSetCombinedStatusGenerator: message_formatter must be a message formatter"
            )
        self.formatter = message_formatter

    def check(self) -> None:
        pass

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], msg: dict[str, Any]
    ) -> dict[str, Any] | None:
        f = self.formatter
        details = await utils.getDetailsForBuildset(
            master,
            msg["bsid"],
            want_properties=f.want_properties,
            want_steps=f.want_steps,
            want_logs=f.want_logs,
            want_logs_content=f.want_logs_content,
        )
        buildset, builds = details["buildset"], details["builds"]
        users = await _users_of(master, reporter, builds)
        message = await f.format_message_for_buildset(
            master, buildset, builds, is_buildset=True, users=users, mode=("passing",)
        )
        return {
            "body": message["body"],
            "subject": message["subject"],
            "type": message["type"],
            "results": buildset["results"],
            "builds": builds,
            "buildset": buildset,
            "users": users,
            "patches": [],
            "logs": [],
            "extra_info": message.get("extra_info"),
            "worker": None,
        }
