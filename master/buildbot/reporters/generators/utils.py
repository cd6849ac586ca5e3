"""What the build-based report generators share: the filters and the report dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import defer

from buildbot import config
from buildbot.process.results import CANCELLED, EXCEPTION, FAILURE, SUCCESS, WARNINGS

MODES = ("change", "failing", "passing", "problem", "warnings", "exception", "cancelled")

# string shortcuts of `mode`
_SHORTCUTS = {
    "all": ("failing", "passing", "warnings", "exception", "cancelled"),
    "warnings": ("failing", "warnings"),
}


def normalize_mode(mode: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(mode, str):
        return _SHORTCUTS.get(mode, (mode,))
    return tuple(mode)


def _check_names(where: str, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        config.error(f"{where}: {name} must be a list of strings, not {value!r}")


class BuildStatusGeneratorMixin:
    """Filters on builders/tags/schedulers/branches and on results (`mode`)."""

    def __init__(
        self,
        mode: str | Sequence[str],
        tags: list[str] | None,
        builders: list[str] | None,
        schedulers: list[str] | None,
        branches: list[str] | None,
        subject: str | None,
        add_logs: bool | list[str] | None,
        add_patch: bool,
    ) -> None:
        self.mode = normalize_mode(mode)
        self.tags = tags
        self.builders = builders
        self.schedulers = schedulers
        self.branches = branches
        self.subject = subject
        self.add_logs = add_logs
        self.add_patch = add_patch

    def check(self) -> None:
        where = type(self).__name__
        for m in self.mode:
            if m not in MODES:
                config.error(f"{where}: mode {m!r} is not one of {', '.join(MODES)} (or 'all')")
        _check_names(where, "tags", self.tags)
        _check_names(where, "builders", self.builders)
        _check_names(where, "schedulers", self.schedulers)
        _check_names(where, "branches", self.branches)
        if self.tags is not None and self.builders is not None:
            config.error(f"{where}: builders and tags are mutually exclusive")
        if self.subject is not None and not isinstance(self.subject, str):
            config.error(f"{where}: subject must be a string")
        if self.add_logs not in (None, True, False) and not (
            isinstance(self.add_logs, (list, tuple))
            and all(isinstance(v, str) for v in self.add_logs)
        ):
            config.error(f"{where}: add_logs must be a boolean or a list of log names")

    # --- filters ---------------------------------------------------------------------

    def _wants_properties(self) -> bool:
        return self.schedulers is not None or self.branches is not None

    def _wants_previous_build(self) -> bool:
        return "change" in self.mode or "problem" in self.mode

    def is_message_needed_by_props(self, build: dict[str, Any]) -> bool:
        builder = build.get("builder") or {}
        if self.builders is not None and builder.get("name") not in self.builders:
            return False
        if self.tags is not None and not set(builder.get("tags") or ()) & set(self.tags):
            return False
        props = build.get("properties") or {}
        if self.schedulers is not None:
            if props.get("scheduler", [None])[0] not in self.schedulers:
                return False
        if self.branches is not None:
            if props.get("branch", [None])[0] not in self.branches:
                return False
        return True

    def is_message_needed_by_results(self, build: dict[str, Any]) -> bool:
        results = build["results"]
        prev = build.get("prev_build")
        if "change" in self.mode and prev is not None and prev["results"] != results:
            return True
        if "failing" in self.mode and results == FAILURE:
            return True
        if "passing" in self.mode and results == SUCCESS:
            return True
        if "warnings" in self.mode and results == WARNINGS:
            return True
        if "exception" in self.mode and results == EXCEPTION:
            return True
        if "cancelled" in self.mode and results == CANCELLED:
            return True
        if (
            "problem" in self.mode
            and results == FAILURE
            and prev is not None
            and prev["results"] != FAILURE
        ):
            return True
        return False

    # --- report ----------------------------------------------------------------------

    def _details_wants(self, formatter: Any, want_previous_build: bool) -> dict[str, Any]:
        return {
            "want_properties": formatter.want_properties or self._wants_properties(),
            "want_steps": formatter.want_steps,
            "want_previous_build": want_previous_build,
            "want_logs": formatter.want_logs,
            "add_logs": self.add_logs,
            "want_logs_content": formatter.want_logs_content,
        }

    def _patches_for(self, buildset: dict[str, Any] | None) -> list[dict[str, Any]]:
        if not self.add_patch or not buildset:
            return []
        return [ss["patch"] for ss in buildset.get("sourcestamps") or [] if ss.get("patch")]

    def _logs_for(self, build: dict[str, Any]) -> list[dict[str, Any]]:
        if not self.add_logs:
            return []
        return [
            lg
            for step in build.get("steps") or []
            for lg in step.get("logs") or []
            if "content" in lg
        ]

    async def build_message(
        self,
        formatter: Any,
        master: Any,
        reporter: Any,
        build: dict[str, Any],
        results: int | None = None,
    ) -> dict[str, Any]:
        users = await defer.maybeDeferred(
            reporter.getResponsibleUsersForBuild, master, build["buildid"]
        )
        msg = await formatter.format_message_for_build(
            master, build, is_buildset=False, mode=self.mode, users=users
        )
        return {
            "body": msg["body"],
            "subject": msg["subject"] or self.subject,
            "type": msg["type"],
            "results": build["results"] if results is None else results,
            "builds": [build],
            "buildset": build.get("buildset"),
            "users": list(users),
            "patches": self._patches_for(build.get("buildset")),
            "logs": self._logs_for(build),
            "extra_info": msg.get("extra_info"),
            "worker": None,
        }
