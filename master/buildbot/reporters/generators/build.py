"""Report generators driven by build events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from buildbot import config
from buildbot.reporters import utils
from buildbot.reporters.generators.utils import BuildStatusGeneratorMixin
from buildbot.reporters.message import MessageFormatter, MessageFormatterRenderable
from buildbot.util.service import _returns_deferred


def _check_formatter(where: str, name: str, formatter: Any) -> None:
    if formatter is not None and not hasattr(formatter, "format_message_for_build"):
        config.error(f"{where}: {name} must be a message formatter, not {formatter!r}")


class BuildStatusGenerator(BuildStatusGeneratorMixin):
    """A report when a build finishes with a result `mode` asks for (and, with
    `report_new`, one when a build starts)."""

    def __init__(
        self,
        mode: str | Sequence[str] = ("failing", "passing", "warnings"),
        tags: list[str] | None = None,
        builders: list[str] | None = None,
        schedulers: list[str] | None = None,
        branches: list[str] | None = None,
        add_logs: bool | list[str] | None = None,
        add_patch: bool = False,
        report_new: bool = False,
        message_formatter: Any = None,
        *,
        subject: str | None = None,
    ) -> None:
        super().__init__(mode, tags, builders, schedulers, branches, subject, add_logs, add_patch)
        self.report_new = report_new
        _check_formatter(type(self).__name__, "message_formatter", message_formatter)
        self.formatter = message_formatter if message_formatter is not None else MessageFormatter()
        self.wanted_event_keys = [("builds", None, "finished")]
        if report_new:
            self.wanted_event_keys.insert(0, ("builds", None, "new"))

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], msg: dict[str, Any]
    ) -> dict[str, Any] | None:
        is_new = key[-1] == "new"
        build = dict(msg)
        want_previous = not is_new and self._wants_previous_build()
        await utils.getDetailsForBuild(
            master, build, **self._details_wants(self.formatter, want_previous)
        )
        if not self.is_message_needed_by_props(build):
            return None
        if not is_new and not self.is_message_needed_by_results(build):
            return None
        return await self.build_message(self.formatter, master, reporter, build)


class BuildStartEndStatusGenerator(BuildStatusGeneratorMixin):
    """A report when a build starts and one when it finishes, whatever its result."""

    def __init__(
        self,
        tags: list[str] | None = None,
        builders: list[str] | None = None,
        schedulers: list[str] | None = None,
        branches: list[str] | None = None,
        add_logs: bool | list[str] | None = None,
        add_patch: bool = False,
        start_formatter: Any = None,
        end_formatter: Any = None,
    ) -> None:
        super().__init__("all", tags, builders, schedulers, branches, None, add_logs, add_patch)
        where = type(self).__name__
        _check_formatter(where, "start_formatter", start_formatter)
        _check_formatter(where, "end_formatter", end_formatter)
        self.start_formatter = start_formatter or MessageFormatterRenderable("Build started.")
        self.end_formatter = end_formatter or MessageFormatterRenderable("Build done.")
        self.wanted_event_keys = [("builds", None, "new"), ("builds", None, "finished")]

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], msg: dict[str, Any]
    ) -> dict[str, Any] | None:
        formatter = self.start_formatter if key[-1] == "new" else self.end_formatter
        build = dict(msg)
        await utils.getDetailsForBuild(master, build, **self._details_wants(formatter, False))
        if not self.is_message_needed_by_props(build):
            return None
        return await self.build_message(formatter, master, reporter, build)
