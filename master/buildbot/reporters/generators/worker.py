"""Reports on workers that went missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from buildbot import config
from buildbot.reporters.message import MessageFormatterMissingWorker
from buildbot.util.service import _returns_deferred


class WorkerMissingGenerator:
    """A report when a worker (one of `workers`, or any with 'all') has been missing
    for its `missing_timeout`; its `notify_on_missing` addresses are the users."""

    wanted_event_keys = [("workers", None, "missing")]

    def __init__(self, workers: str | list[str] = "all", message_formatter: Any = None) -> None:
        self.workers = workers
        self.formatter = message_formatter or MessageFormatterMissingWorker()

    def check(self) -> None:
        ok = self.workers == "all" or (
            isinstance(self.workers, (list, tuple))
            and all(isinstance(w, str) for w in self.workers)
        )
        if not ok:
            config.error(
                f"WorkerMissingGenerator: workers must be 'all' or a list of worker names, "
                f"not {self.workers!r}"
            )
        if not hasattr(self.formatter, "format_message_for_missing_worker"):
            config.error(
                "WorkerMissingGenerator: message_formatter must be able to format missing "
                "worker messages (e.g. MessageFormatterMissingWorker)"
            )

    def _wants(self, worker: dict[str, Any]) -> bool:
        return self.workers == "all" or worker.get("name") in self.workers

    @_returns_deferred
    async def generate(
        self, master: Any, reporter: Any, key: Sequence[str], worker: dict[str, Any]
    ) -> dict[str, Any] | None:
        if not self._wants(worker):
            return None
        msg = await self.formatter.format_message_for_missing_worker(master, worker)
        return {
            "body": msg["body"],
            "subject": msg["subject"],
            "type": msg["type"],
            "results": None,
            "builds": None,
            "buildset": None,
            "users": list(worker.get("notify") or []),
            "patches": None,
            "logs": None,
            "extra_info": msg.get("extra_info"),
            "worker": worker.get("name"),
        }
