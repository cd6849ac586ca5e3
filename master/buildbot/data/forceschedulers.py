"""Force schedulers: the forms the web UI shows, and the `force` control.

They are not in the database: they are read from the configured schedulers, the
children of ``master.scheduler_manager``. A force scheduler is recognised by
what it offers (`force()` and `all_fields`), so that this layer does not import
the schedulers layer above it.
"""

from __future__ import annotations

from typing import Any

from buildbot.data import base, exceptions


class ForceSchedulerNotFound(AttributeError):
    """No configured force scheduler has that name (a server error, as in the reference,
    whose message is the repr of an AttributeError)."""

    def __repr__(self) -> str:
        return "AttributeError(\"'NoneType' object has no attribute 'force'\")"


def _is_force_scheduler(s: Any) -> bool:
    return callable(getattr(s, "force", None)) and hasattr(s, "all_fields")


def force_schedulers(master: Any) -> list[Any]:
    """The configured force schedulers, in configuration order."""
    manager = getattr(master, "scheduler_manager", None)
    if manager is None:
        return []
    return [s for s in manager.services if _is_force_scheduler(s)]


def find_force_scheduler(master: Any, name: str) -> Any:
    for s in force_schedulers(master):
        if s.name == name:
            return s
    return None


def forcescheduler_dict(s: Any) -> dict[str, Any]:
    return {
        "name": s.name,
        "button_name": s.buttonName,
        "label": s.label,
        "builder_names": list(s.builderNames),
        "enabled": bool(s.enabled),
        "all_fields": s.getAllFieldsSpec(),
    }


class ForceSchedulerEndpoint(base.Endpoint):
    pathPatterns = "/forceschedulers/i:schedulername"

    async def get(self, resultSpec, kwargs):
        s = find_force_scheduler(self.master, kwargs["schedulername"])
        return forcescheduler_dict(s) if s is not None else None

    async def control(self, action, args, kwargs):
        if action != "force":
            # the reference answers other actions with null, not "not supported"
            return None
        s = find_force_scheduler(self.master, kwargs["schedulername"])
        if s is None:
            # the reference fails here with a 500 (an AttributeError on None)
            raise ForceSchedulerNotFound(f"no force scheduler named {kwargs['schedulername']!r}")
        args = dict(args)
        owner = args.pop("owner", None)
        try:
            return await s.force(owner, **args)
        except exceptions.InvalidControlArguments as e:
            if isinstance(e, KeyError):
                # no builder chosen: the reference answers 500 with this KeyError's repr
                raise KeyError(e.message) from e
            raise


class ForceSchedulersEndpoint(base.Endpoint):
    isCollection = True
    rootLinkName = "forceschedulers"
    pathPatterns = """
        /forceschedulers
        /builders/:builderid/forceschedulers
    """

    async def get(self, resultSpec, kwargs):
        schedulers = force_schedulers(self.master)
        if "builderid" in kwargs:
            name = await self._builder_name(kwargs["builderid"])
            schedulers = [s for s in schedulers if name is not None and name in s.builderNames]
        return [forcescheduler_dict(s) for s in schedulers]

    async def _builder_name(self, builderid: Any) -> str | None:
        # an untyped placeholder: only a numeric builder id names a builder here
        try:
            builderid = int(builderid)
        except (TypeError, ValueError):
            return None
        builder = await self.master.data.get(("builders", builderid))
        return builder["name"] if builder is not None else None


class ForceScheduler(base.ResourceType):
    name = "forcescheduler"
    plural = "forceschedulers"
    endpoints = [ForceSchedulerEndpoint, ForceSchedulersEndpoint]
    keyField = "name"
    fields = {
        "name": "id(50)",
        "button_name": "str",
        "label": "str",
        "builder_names": "[id(50)]",
        "enabled": "bool",
        "all_fields": "[json]",
    }
